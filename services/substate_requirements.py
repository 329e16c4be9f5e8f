"""A substate's Required fields tab (D4): the fields a person must fill before closing it and whether it asks
for a note; what the engine's rules make of them (services.close_requirements asks for them at close,
engine.trigger_types.linked_tasks leaves a substate that needs input to a person)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select

from extensions import db
from models import CustomField, OpportunityType, ProcessAutomation, State, Substate, SubstateRequirement
from services import field_values as fv
from services.validation import InvalidData


@dataclass
class RequiredRow:
    ref: str
    label: str
    # Why the opportunity page will not ask for it ('' when it will): archived, or not of this type.
    unused: str = ""


def _ref(req: SubstateRequirement) -> str:
    return f"custom:{req.custom_field_id}" if req.custom_field_id else f"system:{req.system_field}"


def _requirements(sub: Substate) -> list[SubstateRequirement]:
    return list(db.session.execute(select(SubstateRequirement).where(SubstateRequirement.substate_id == sub.id)
                                   .order_by(SubstateRequirement.id)).scalars())


def rows(sub: Substate) -> list[RequiredRow]:
    """The fields the substate requires, in the order they were added."""
    out = []
    for req in _requirements(sub):
        field = fv.resolve(_ref(req))
        if field is None:  # a system field this version no longer offers
            out.append(RequiredRow(_ref(req), req.system_field or "?", _("no longer exists")))
            continue
        unused = ""
        if field.custom is not None and field.custom.archived:
            unused = _("archived: not asked for")
        elif field.custom is not None and not field.custom.applies_to(sub.state.type_id):
            unused = _("not a field of this opportunity type: not asked for")
        out.append(RequiredRow(field.ref, field.label, unused))
    return out


def asking_input(opp_type: OpportunityType) -> set[int]:
    """The type's substates whose close by hand asks for something: required fields or a note (the board)."""
    ids = {s.id for s in opp_type.substates if s.requires_note}
    ids |= set(db.session.execute(select(SubstateRequirement.substate_id).join(Substate).join(State)
                                  .where(State.type_id == opp_type.id)).scalars())
    return ids


def automation_of(sub: Substate) -> ProcessAutomation | None:
    """The process automation tied to the substate, if any (active or not)."""
    return db.session.execute(select(ProcessAutomation).where(ProcessAutomation.substate_id == sub.id)
                              ).scalar_one_or_none()


def automation_field(automation: ProcessAutomation | None) -> str | None:
    """The name of the automation's field (or the name it had)."""
    if automation is None:
        return None
    field = fv.resolve(automation.field_ref)
    return field.label if field else automation.field_name


def field_choices(sub: Substate) -> list[tuple[str, str]]:
    """What may be added: system fields, then live custom fields of the substate's type, less those required."""
    taken = {r.ref for r in rows(sub)}
    automation = automation_of(sub)
    if automation is not None and automation.active and automation.field_ref:
        taken.add(automation.field_ref)
    refs = [fv.system_ref(key) for key in fv.SYSTEM_FIELDS]
    refs += [fv.custom_ref(f) for f in db.session.execute(
        select(CustomField).where(CustomField.archived.is_(False)).order_by(CustomField.position, CustomField.id)
    ).scalars() if f.applies_to(sub.state.type_id)]
    return [(f.ref, f.label) for f in refs if f.ref not in taken]


def add_requirement(sub: Substate, ref: str) -> SubstateRequirement:
    """Require a field before the substate closes; refuses (422) an unknown field, one of another type, or
    one already required."""
    if ref not in {value for value, _label in field_choices(sub)}:
        field = fv.resolve(ref)
        if field is not None and ref in {r.ref for r in rows(sub)}:
            raise InvalidData({"field": _("“%(name)s” is already required.", name=field.label)})
        raise InvalidData({"field": _("Choose a field from the list.")})
    kind, _sep, key = ref.partition(":")
    req = SubstateRequirement(substate_id=sub.id, custom_field_id=int(key) if kind == "custom" else None,
                              system_field=key if kind == "system" else None)
    db.session.add(req)
    db.session.flush()
    return req


def remove_requirement(sub: Substate, ref: str) -> bool:
    """Stop requiring a field; one that is not required (a second click) changes nothing: returns False."""
    kind, _sep, key = (ref or "").partition(":")
    if kind == "custom" and key.isdigit() and len(key) < 12:
        where = SubstateRequirement.custom_field_id == int(key)
    elif kind == "system" and key:
        where = SubstateRequirement.system_field == key[:40]
    else:
        return False
    return bool(db.session.execute(delete(SubstateRequirement).where(
        SubstateRequirement.substate_id == sub.id, where)).rowcount)


def set_requires_note(sub: Substate, requires: bool) -> Substate:
    """Ask for a note when the substate is closed by hand. A substate in a process automation may not ask
    for one (seed 003: steps that need a note are not available to automations)."""
    automation = automation_of(sub)
    if requires and automation is not None:
        raise InvalidData({"requires_note": _(
            "This substate is in the process automation “%(name)s”, and a substate that asks for a note cannot "
            "be. Take it out of the automation first.", name=automation.name)})
    sub.requires_note = requires
    db.session.flush()
    return sub
