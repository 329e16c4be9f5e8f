"""A2 Assign commercial: the opportunity goes to a commercial company chosen by the assignment criteria."""

from flask_babel import lazy_gettext as _l

from engine.kinds._assign import AssignKind


class AssignCommercial(AssignKind):
    key = "assign_commercial"
    label = _l("Assign commercial")
    help = _l("Assigns the opportunity to a commercial company according to the assignment criteria an administrator "
              "sets in Settings → Assignment criteria.")
    partner_kind = "commercial"
    needs_criteria = _l("Assign commercial needs assignment criteria for commercial companies that apply to "
                        "this opportunity type.")


KIND = AssignCommercial()
