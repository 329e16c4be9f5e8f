"""Process automations (T2, seed 003), admins only: a named link between a field and a substate, working both
ways (engine.trigger_types.process_automation; services.close_requirements). The seed's rules live here:
each field and each substate in one automation at most, substates that ask for a note or create tasks not
offered, a warning when a linked field or substate was deleted or archived, and at most M active."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Action, CustomField, OpportunityType, ProcessAutomation, State, Substate, User
from services import ServiceError, app_settings
from services import field_values as fv
from services.validation import InvalidData

NAME_MAX = 160
LIMIT_MAX = 10_000
ACTIVE_LIMIT = app_settings.PROCESS_AUTOMATIONS_ACTIVE_LIMIT


def active_limit() -> int:
    """M in "N of M active": the admin's setting, else the deployment's configuration (default 10)."""
    raw = app_settings.get(ACTIVE_LIMIT) or current_app.config.get("PROCESS_AUTOMATIONS_ACTIVE_LIMIT", 10)
    try:
        return max(0, int(raw))
    except (TypeError, ValueError):
        return 10


def active_count() -> int:
    return db.session.execute(select(func.count()).select_from(ProcessAutomation)
                              .where(ProcessAutomation.active.is_(True))).scalar_one()


def all_automations() -> list[ProcessAutomation]:
    return list(db.session.execute(select(ProcessAutomation).order_by(ProcessAutomation.id)).scalars())


def get_or_404(automation_id: int) -> ProcessAutomation:
    automation = db.session.get(ProcessAutomation, automation_id)
    if automation is None:
        raise ServiceError(_("This process automation does not exist."), 404)
    return automation


def warnings(automation: ProcessAutomation) -> list[str]:
    """The seed's warning: the linked field or substate was deleted or archived (or never chosen)."""
    out = []
    field = fv.resolve(automation.field_ref)
    if field is None:
        out.append(_("The field “%(name)s” was deleted.", name=automation.field_name) if automation.field_name
                   else _("No field is chosen."))
    elif field.custom is not None and field.custom.archived:
        out.append(_("The field “%(name)s” is archived.", name=field.label))
    sub = automation.substate
    if sub is None:
        out.append(_("The substate “%(name)s” was deleted.", name=automation.substate_name)
                   if automation.substate_name else _("No substate is chosen."))
    elif sub.archived or sub.state.archived or (sub.state.type.archived if sub.state.type else False):
        out.append(_("The substate “%(name)s” is archived.", name=sub.label))
    elif field is not None and field.custom is not None and not field.custom.applies_to(sub.state.type_id):
        out.append(_("The field “%(name)s” no longer applies to this opportunity type.", name=field.label))
    return out


def used_refs(except_id: int | None = None) -> tuple[set[str], set[int]]:
    """Fields and substates other automations already use (shown unavailable in the pickers)."""
    fields, subs = set(), set()
    for a in all_automations():
        if a.id == except_id:
            continue
        if a.field_ref:
            fields.add(a.field_ref)
        if a.substate_id:
            subs.add(a.substate_id)
    return fields, subs


def excluded_substates() -> dict[int, str]:
    """Substates the seed keeps out of automations, with why: those that ask for a note, and those whose
    actions create tasks or that have linked tasks' rule (they would need more than a filled field)."""
    out = {sid: _("asks for a note") for (sid,) in db.session.execute(
        select(Substate.id).where(Substate.requires_note.is_(True)))}
    for (sid,) in db.session.execute(select(Action.substate_id).where(Action.kind == "create_task").distinct()):
        out.setdefault(sid, _("creates a task"))
    return out


def field_options(except_id: int | None = None) -> list[tuple[str, str, bool]]:
    """(reference, name, available) for the field picker: system fields, then the live custom fields."""
    used, _subs = used_refs(except_id)
    refs = [fv.system_ref(key) for key in fv.SYSTEM_FIELDS]
    refs += [fv.custom_ref(f) for f in db.session.execute(
        select(CustomField).where(CustomField.archived.is_(False)).order_by(CustomField.position, CustomField.id)
    ).scalars()]
    return [(f.ref, f.label, f.ref not in used) for f in refs]


def substate_options(type_id: int, except_id: int | None = None) -> list[tuple[str, list[tuple[int, str, str]]]]:
    """The type's live substates by state: (id, name, why unavailable or '')."""
    _fields, used = used_refs(except_id)
    excluded = excluded_substates()
    groups = []
    for state in db.session.execute(select(State).where(State.type_id == type_id, State.archived.is_(False))
                                    .order_by(State.position, State.id)).scalars():
        rows = [(s.id, s.label, _("used by another automation") if s.id in used else excluded.get(s.id, ""))
                for s in state.substates if not s.archived]
        if rows:
            groups.append((state.label, rows))
    return groups


def _first_step(data: dict, except_id: int | None) -> tuple[str, fv.FieldRef | None, dict[str, str]]:
    """The name and the field with their refusals (the configurator's first step)."""
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = _("Give the automation a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("At most %(max)d characters.", max=NAME_MAX)
    used_fields, _subs = used_refs(except_id)
    field = fv.resolve(str(data.get("field") or ""))
    if field is None or (field.custom is not None and field.custom.archived):
        errors["field"] = _("Choose a field from the list.")
    elif field.ref in used_fields:
        errors["field"] = _("“%(name)s” is already used by another automation.", name=field.label)
    return name, field, errors


def check_first_step(data: dict, except_id: int | None = None) -> None:
    """Step 1 of the configurator (name and field) before "Next: define the effect": InvalidData if refused."""
    _name, _field, errors = _first_step(data, except_id)
    if errors:
        raise InvalidData(errors)


def field_label(automation: ProcessAutomation) -> str:
    """The linked field's name now, else the name it had when it was deleted."""
    field = fv.resolve(automation.field_ref)
    return field.label if field is not None else automation.field_name


def set_active_limit(raw) -> int:
    """Store M, the most automations active at once (a whole number, 0 to LIMIT_MAX); the caller commits."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(LIMIT_MAX)) or int(text) > LIMIT_MAX:
        raise InvalidData({"limit": _("Enter a whole number from 0 to %(max)d.", max=LIMIT_MAX)})
    app_settings.put(ACTIVE_LIMIT, str(int(text)))
    return int(text)


def save(automation: ProcessAutomation | None, data: dict, user: User) -> ProcessAutomation:
    """Create or edit an automation from {name, field, type_id, substate_id}; refuses with a message per
    field (422) what the seed's rules forbid. The caller commits."""
    except_id = automation.id if automation else None
    name, field, errors = _first_step(data, except_id)
    _used_fields, used_subs = used_refs(except_id)
    opp_type = db.session.get(OpportunityType, data["type_id"]) if isinstance(data.get("type_id"), int) else None
    sub = db.session.get(Substate, data["substate_id"]) if isinstance(data.get("substate_id"), int) else None
    if opp_type is None or opp_type.archived:
        errors["type_id"] = _("Choose a sales process from the list.")
    elif sub is None or sub.archived or sub.state.archived or sub.state.type_id != opp_type.id:
        errors["substate_id"] = _("Choose a step of this sales process.")
    elif sub.id in used_subs:
        errors["substate_id"] = _("“%(name)s” is already used by another automation.", name=sub.label)
    elif sub.id in excluded_substates():
        errors["substate_id"] = _("“%(name)s” %(why)s: it cannot be used by an automation.", name=sub.label,
                                  why=excluded_substates()[sub.id])
    if not errors and field.custom is not None and not field.custom.applies_to(opp_type.id):
        errors["field"] = _("“%(name)s” does not apply to this sales process.", name=field.label)
    if errors:
        raise InvalidData(errors)
    if automation is None:
        automation = ProcessAutomation(created_by_id=user.id, active=False)
        db.session.add(automation)
    automation.name, automation.type_id, automation.substate_id = name, opp_type.id, sub.id
    automation.custom_field_id = field.custom.id if field.custom else None
    automation.system_field = field.system_key
    automation.field_name, automation.substate_name = field.label, sub.label
    try:
        db.session.flush()
    except IntegrityError:  # another admin took the field or substate at the same moment
        db.session.rollback()
        raise InvalidData({"field": _("The field or the step was just used by another automation.")}) from None
    return automation


def set_active(automation: ProcessAutomation, active: bool) -> None:
    """Switch an automation on or off; on past the limit, or with a warning standing, is refused."""
    if active and not automation.active:
        if warnings(automation):
            raise ServiceError(_("Fix the automation before activating it: %(why)s",
                                 why=" ".join(warnings(automation))), 422)
        limit = active_limit()
        if active_count() >= limit:
            raise ServiceError(ngettext("%(num)d automation is already active, the most allowed. Deactivate it "
                                        "first.", "%(num)d automations are already active, the most allowed. "
                                        "Deactivate one first.", limit), 422)
    automation.active = active


def delete(automation: ProcessAutomation) -> None:
    """Delete an automation; its runs stay in the history under the name they recorded."""
    db.session.delete(automation)
