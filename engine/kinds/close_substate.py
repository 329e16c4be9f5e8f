"""A4 Close substate: closes a chosen substate of the same type."""

from flask_babel import lazy_gettext as _l

from engine.kinds._substate import SubstateKind


class CloseSubstate(SubstateKind):
    key = "close_substate"
    label = _l("Close substate")
    help = _l("Closes the chosen substate.")
    effect = "close"

    def execute(self, run) -> dict:
        """Close the substate in the run's chain, so its own actions follow (SPEC E5)."""
        return self.change_substate(run, "close")


KIND = CloseSubstate()
