"""Triggers on a substate (SPEC T1): create, update, enable/disable, delete and list them, validated by
their type's form (engine.trigger_types) with a translated message per field; nothing saved if invalid."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from engine.kinds import Lookup
from engine.trigger_types import TriggerType, get_trigger_type
from extensions import db
from models import ActionRun, State, Substate, Trigger
from services import ServiceError
from services.validation import InvalidData


@dataclass
class TriggerData:
    """What the add/edit form sends: the type and its form's data (name, conditions, "change as", …)."""

    kind: str
    config: dict = field(default_factory=dict)


@dataclass
class Clean:
    trigger_type: TriggerType
    name: str
    config: dict
    as_user_id: int | None
    allow_back: bool


def validate(substate: Substate, data: TriggerData, saved: Trigger | None = None) -> Clean:
    """The trigger's clean values, or InvalidData naming every problem at once (type's fields as
    "config-<name>"); the `saved` trigger's own choices stay valid."""
    trigger_type = get_trigger_type(data.kind)
    if trigger_type is None:
        raise InvalidData({"kind": _("Choose a trigger type.")})
    form = trigger_type.build_form(substate, data=data.config, saved=saved)
    errors = {}
    if form.validate():
        errors = trigger_type.check(form, substate)
    else:
        errors = {name: str(errs[0]) for name, errs in form.errors.items() if errs}
    if errors:
        raise InvalidData({f"config-{name}": message for name, message in errors.items()})
    config = trigger_type.config_of(form)
    name = " ".join((form.name.data or "").split()) or trigger_type.default_name(config, substate)[:160]
    return Clean(trigger_type, name, config, form.as_user_id.data, bool(form.allow_back.data))


def _apply(trigger: Trigger, clean: Clean) -> Trigger:
    trigger.kind, trigger.name, trigger.config = clean.trigger_type.key, clean.name, clean.config
    trigger.as_user_id, trigger.allow_back = clean.as_user_id, clean.allow_back
    db.session.flush()
    return trigger


def create_trigger(substate: Substate, data: TriggerData) -> Trigger:
    """Add an enabled trigger to the substate, last in its list."""
    clean = validate(substate, data)
    top = db.session.scalar(select(func.max(Trigger.position)).where(Trigger.substate_id == substate.id))
    trigger = Trigger(substate_id=substate.id, enabled=True, position=0 if top is None else top + 1)
    db.session.add(trigger)
    return _apply(trigger, clean)


def update_trigger(trigger: Trigger, data: TriggerData) -> Trigger:
    """Save a trigger's changed name, type, conditions and options."""
    return _apply(trigger, validate(trigger.substate, data, trigger))


def set_enabled(trigger: Trigger, enabled: bool) -> Trigger:
    """Enable or disable a trigger; a disabled one stays configured but never fires."""
    trigger.enabled = enabled
    db.session.flush()
    return trigger


def _forget_runs(trigger_ids: list[int]) -> None:
    """The runs a trigger left stay in the history without it (their foreign key has no ON DELETE)."""
    if trigger_ids:
        db.session.execute(update(ActionRun).where(ActionRun.trigger_id.in_(trigger_ids))
                           .values(trigger_id=None).execution_options(synchronize_session=False))


def delete_trigger(trigger: Trigger) -> None:
    """Delete a trigger; its runs stay in the history."""
    substate_id = trigger.substate_id
    _forget_runs([trigger.id])
    db.session.delete(trigger)
    db.session.flush()
    _renumber(substate_id)


def _renumber(substate_id: int) -> None:
    for index, trigger in enumerate(_of(substate_id)):
        trigger.position = index
    db.session.flush()


def _of(substate_id: int) -> list[Trigger]:
    return list(db.session.execute(select(Trigger).where(Trigger.substate_id == substate_id)
                                   .order_by(Trigger.position, Trigger.id)).scalars())


@dataclass
class TriggerRow:
    trigger: Trigger
    label: str
    summary: str


def rows(substate: Substate) -> list[TriggerRow]:
    """The substate's triggers in order, each with its type's label and a one-line summary."""
    from engine.trigger_types.base import common_summary

    lookup, result = Lookup(), []
    for trigger in _of(substate.id):
        trigger_type = get_trigger_type(trigger.kind)
        if trigger_type is None:
            result.append(TriggerRow(trigger, trigger.kind, ""))
            continue
        parts = [trigger_type.summary(trigger.config or {}, lookup), *common_summary(trigger, lookup)]
        result.append(TriggerRow(trigger, str(trigger_type.label), " · ".join(parts)))
    return result


def of_type(type_id: int) -> list[Trigger]:
    """Every trigger on the substates of an opportunity type."""
    return list(db.session.execute(
        select(Trigger).join(Substate, Trigger.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .where(State.type_id == type_id).order_by(Trigger.substate_id, Trigger.position, Trigger.id)
    ).scalars())


def before_substate_deleted(sub: Substate, deleted_with: set[int]) -> None:
    """Refuse while a trigger of a substate not deleted with it (`deleted_with` lists those that are) names it
    in its conditions; otherwise let its own triggers go (the database deletes them with the substate)
    after clearing them from their runs."""
    own = []
    for trigger in of_type(sub.state.type_id):
        trigger_type = get_trigger_type(trigger.kind)
        if trigger.substate_id == sub.id:
            own.append(trigger.id)
        elif (trigger_type and sub.id in trigger_type.substate_refs(trigger.config or {})
              and trigger.substate_id not in deleted_with):
            raise ServiceError(_("“%(name)s” cannot be deleted: the trigger “%(trigger)s” of “%(other)s” refers to "
                                 "it. Change or delete that trigger first.",
                                 name=sub.label, trigger=trigger.name, other=trigger.substate.label), 409)
    _forget_runs(own)
