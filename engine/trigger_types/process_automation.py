"""T2 Process automations (seed 003): filling the automation's field — from empty, by any path — closes
(ticks) its substate through the engine, so the substate's on-close actions run. The other direction (a
person's close requires the field) is services.close_requirements; a value given there is recorded here as
"filled at close" and closes nothing more. Automations are made in their own panel (services.
process_automations), not in the Triggers tab, which lists them."""

from __future__ import annotations

from sqlalchemy import select

from engine.trigger_types import firing
from extensions import db
from models import ProcessAutomation
from services import events

RECORD_KIND = "process_automation"


def automation_for(ref: str, type_id: int) -> ProcessAutomation | None:
    """The active automation of this field whose substate is in this opportunity type."""
    kind, _sep, key = ref.partition(":")
    column = ProcessAutomation.custom_field_id if kind == "custom" else ProcessAutomation.system_field
    value = int(key) if kind == "custom" else key
    return db.session.execute(select(ProcessAutomation).where(
        column == value, ProcessAutomation.active.is_(True), ProcessAutomation.type_id == type_id,
        ProcessAutomation.substate_id.is_not(None))).scalar_one_or_none()


def _on_field_changed(opp, change: events.FieldChange) -> None:
    """Empty → filled ticks the substate; clearing or changing a filled field does nothing."""
    if change.was_filled or not change.is_filled:
        return
    automation = automation_for(change.ref, opp.type_id)
    if automation is None or automation.substate.archived or automation.substate.state.archived:
        return
    result = {"automation_id": automation.id, "field": change.ref, "value": change.shown,
              "direction": "field_closes"}
    config = {"name": automation.name}
    if change.closing_substate_id == automation.substate_id:  # asked for by the person closing it
        result["direction"] = "close_requires_field"
        firing.close_by_automation(RECORD_KIND, opp, automation.substate, at=change.at, chain=change.chain,
                                   result=result, config=config, outcome=("succeeded", "field_at_close"))
        return
    firing.close_by_automation(RECORD_KIND, opp, automation.substate, at=change.at, chain=change.chain,
                               result=result, config=config)


def subscribe() -> None:
    events.field_changed.connect(_on_field_changed, weak=False)


