"""A1 Assign installer: the opportunity goes to an installer company chosen by the assignment criteria."""

from flask_babel import lazy_gettext as _l

from engine.kinds._assign import AssignKind


class AssignInstaller(AssignKind):
    key = "assign_installer"
    label = _l("Assign installer")
    help = _l("Assigns the opportunity to an installer company according to the assignment criteria an administrator "
              "sets in Settings → Assignment criteria.")
    partner_kind = "installer"
    needs_criteria = _l("Assign installer needs assignment criteria for installer companies that apply to "
                        "this opportunity type.")


KIND = AssignInstaller()
