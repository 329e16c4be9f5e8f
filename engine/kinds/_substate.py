"""Shared by A3 and A4: a chosen substate of the same opportunity type."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select
from wtforms import Form

from engine.kinds.base import Kind, Lookup, RefField, quoted
from models import Action, ActionRun, OpportunitySubstate, State, Substate

# The configured substate, its state's type (the flow it belongs to) and where the run's opportunity stands on
# it, read with the run; and whether it has actions to run (only then are they read): an "open substate" run costs no
# statement of its own before it writes (services.substates.Known).
_CHOSEN = ActionRun.config["substate_id"].as_integer()
_READ_WITH = [
    (Substate, Substate.id == _CHOSEN),
    (select(State.type_id).where(State.id == Substate.state_id).scalar_subquery().label("type_id"), None),
    (OpportunitySubstate, and_(OpportunitySubstate.opportunity_id == ActionRun.opportunity_id,
                               OpportunitySubstate.substate_id == _CHOSEN)),
    (exists(select(Action.id).where(Action.substate_id == _CHOSEN, Action.makes_runs())).label("has_actions"),
     None),
]


class SubstateKind(Kind):
    claim_with_first_write = True  # database statements only: claimed, run and recorded in one commit

    class ConfigForm(Form):
        substate_id = RefField(
            _l("Substate"),
            required_message=_l("Choose a substate."),
            missing_message=_l("The chosen substate is not part of this opportunity type."),
        )

    def read_with(self) -> list:
        return _READ_WITH

    def fill(self, form, substate) -> None:
        """Every substate of the same type, grouped by state (archived ones left out); this one is marked,
        e.g. to close itself a while after it opened."""
        groups = {}
        this = str(_l("this substate"))
        for state in substate.state.type.states:
            if state.archived:
                continue
            pairs = [(s.id, f"{s.label} ({this})" if s.id == substate.id else s.label)
                     for s in state.substates if not s.archived]
            if pairs:
                groups[state.label] = pairs
        form.substate_id.set_records(None, groups=groups)

    def config_of(self, form) -> dict:
        return {"substate_id": form.substate_id.data}

    def summary(self, config: dict, lookup: Lookup) -> str:
        return quoted(lookup.name(Substate, config.get("substate_id"), whole_table=False))

    def substate_refs(self, config: dict) -> list[int]:
        return [config["substate_id"]] if config.get("substate_id") else []

    @staticmethod
    def change_substate(run, how: str) -> dict:
        """Open or close the configured substate; already so is a skip with its reason, not a failure."""
        from engine.errors import PermanentError, Skip
        from engine.executor import read_with_records, with_outcome
        from services import ServiceError, substates
        from services.events import Chain

        substate_id = (run.config or {}).get("substate_id")
        change = substates.open_substate if how == "open" else substates.close_substate
        read = read_with_records()
        try:
            change(run.opportunity, substate_id, None, chain=Chain.from_run(run),
                   known=substates.Known(*read, with_outcome=with_outcome) if read else None)
        except ServiceError as err:
            if err.status == 409:
                raise Skip("already_open" if how == "open" else "not_open") from err
            raise PermanentError(err.message) from err
        return {"substate_id": substate_id, "change": how}
