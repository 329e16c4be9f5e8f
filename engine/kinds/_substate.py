"""Shared by A3 and A4: a chosen substate of the same opportunity type."""

from flask_babel import lazy_gettext as _l
from wtforms import Form

from engine.kinds.base import Kind, Lookup, RefField, quoted
from models import Substate


class SubstateKind(Kind):
    claim_with_first_write = True  # database statements only: claimed, run and recorded in one commit

    class ConfigForm(Form):
        substate_id = RefField(
            _l("Substate"),
            required_message=_l("Choose a substate."),
            missing_message=_l("The chosen substate is not part of this opportunity type."),
        )

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
        from services import ServiceError, substates
        from services.events import Chain

        substate_id = (run.config or {}).get("substate_id")
        change = substates.open_substate if how == "open" else substates.close_substate
        try:
            change(run.opportunity, substate_id, None, chain=Chain.from_run(run))
        except ServiceError as err:
            if err.status == 409:
                raise Skip("already_open" if how == "open" else "not_open") from err
            raise PermanentError(err.message) from err
        return {"substate_id": substate_id, "change": how}
