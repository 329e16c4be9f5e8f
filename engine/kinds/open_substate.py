"""A3 Open substate: opens a chosen substate of the same type."""

from flask_babel import lazy_gettext as _l

from engine.kinds._substate import SubstateKind


class OpenSubstate(SubstateKind):
    key = "open_substate"
    label = _l("Open substate")
    help = _l("Opens the chosen substate, e.g. “Documentation validation” when “Pending documentation” closes.")
    effect = "open"

    def execute(self, run) -> dict:
        """Open the substate in the run's chain, so its own actions follow (SPEC E5)."""
        return self.change_substate(run, "open")


KIND = OpenSubstate()
