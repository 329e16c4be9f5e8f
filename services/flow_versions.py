"""D12: every change to a flow is recorded centrally, from SQLAlchemy session events, so no route or service
can forget it: before a flush the tracked rows' old and new column values are taken, after it the FlowChange
rows are inserted on the flush's own connection and the type's config version is bumped (once per
transaction). Runs record that version (engine.triggers). Also the Changes page's query, diff and restore."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from flask import has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, insert, inspect, or_, select, update
from sqlalchemy.orm import attributes
from sqlalchemy.orm.properties import ColumnProperty

from extensions import db
from models import (
    Action,
    AssignmentRule,
    Channel,
    EmailTemplate,
    FlowChange,
    OpportunityType,
    ProcessAutomation,
    ReportTemplate,
    State,
    Substate,
    SubstateRequirement,
    Trigger,
)
from models.base import utcnow
from services import ServiceError

TRACKED = {OpportunityType: "type", State: "state", Substate: "substate", Action: "action", Trigger: "trigger",
           SubstateRequirement: "requirement", ProcessAutomation: "automation",
           EmailTemplate: "email_template", ReportTemplate: "report_template", AssignmentRule: "assignment_rule"}
MODELS = {key: model for model, key in TRACKED.items()}
ENTITIES = {
    "type": _l("Opportunity type"), "state": _l("State"), "substate": _l("Substate"),
    "action": _l("Automatic action"), "trigger": _l("Trigger"), "requirement": _l("Required field"),
    "automation": _l("Process automation"), "email_template": _l("Email template"),
    "report_template": _l("Report template"), "assignment_rule": _l("Assignment criterion"),
}
OPERATIONS = {"create": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted")}
RESTORABLE = ("action", "substate")
# Bookkeeping that is not configuration: never recorded, never restored.
SKIPPED = {"id", "created_at", "created_by_id", "config_version"}
# Where a restored version must not move the record: its place is the board's business.
PLACE = {"position", "state_id", "substate_id"}
FIELD_LABELS = {
    "name": _l("Name"), "name_i18n": _l("Translations"), "archived": _l("Archived"), "position": _l("Position"),
    "partner_can_act": _l("Partners may act"), "requires_note": _l("Closing asks for a note"),
    "group": _l("Group"), "kind": _l("Kind"), "config": _l("Settings"), "delay_amount": _l("Delay"),
    "delay_unit": _l("Delay unit"), "respect_working_hours": _l("Respect working hours"),
    "enabled": _l("Enabled"), "channels": _l("Channels"), "allow_back": _l("May move back"),
    "as_user_id": _l("On behalf of"), "active": _l("Active"), "custom_field_id": _l("Custom field"),
    "system_field": _l("System field"), "substate_id": _l("Substate"), "state_id": _l("State"),
    "type_id": _l("Opportunity type"), "subjects": _l("Subjects"), "bodies": _l("Bodies"),
    "label": _l("Name"), "html": _l("HTML"), "css": _l("CSS"), "paper_size": _l("Paper size"),
    "orientation": _l("Orientation"), "partner_kind": _l("Partner kind"), "channel_id": _l("Channel"),
    "province": _l("Province"), "postal_prefix": _l("Postal code prefix"), "strategy": _l("Strategy"),
    "field_name": _l("Field name"), "substate_name": _l("Substate name"),
}


def _plain(value):
    """A column value as JSON (dates as ISO text, decimals as text)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, default=str))
    return value


def _columns(obj) -> list[str]:
    return [p.key for p in inspect(type(obj)).iterate_properties
            if isinstance(p, ColumnProperty) and p.key not in SKIPPED]


def snapshot(obj) -> dict:
    """The record's configuration now (with an action's channels as ids)."""
    out = {key: _plain(getattr(obj, key)) for key in _columns(obj)}
    if isinstance(obj, Action):
        out["channels"] = sorted(c.id for c in obj.channels)
    return out


def _committed(obj) -> dict:
    """The record's configuration as the database has it, before this flush."""
    state = inspect(obj)
    out, unknown = {}, []
    for key in _columns(obj):
        hist = state.attrs[key].history
        if hist.deleted:
            out[key] = _plain(hist.deleted[0])
        elif hist.added and not hist.unchanged:
            unknown.append(key)  # set while expired (after a commit): the old value was never loaded
        else:
            out[key] = _plain(getattr(obj, key))
    if unknown:
        mapper = inspect(type(obj))
        cols = [mapper.column_attrs[key].columns[0] for key in unknown]
        row = state.session.connection().execute(
            select(*cols).where(mapper.primary_key[0] == obj.id)).first()
        for key, value in zip(unknown, row or [None] * len(unknown), strict=True):
            out[key] = _plain(value)
    if isinstance(obj, Action):
        hist = state.attrs["channels"].history
        out["channels"] = sorted(c.id for c in ([*hist.unchanged, *hist.deleted] if hist.has_changes()
                                                else obj.channels))
    return out


def _type_id(session, obj) -> int | None:
    """The opportunity type the record belongs to; None for shared records."""
    if isinstance(obj, OpportunityType):
        return obj.id
    if isinstance(obj, State | AssignmentRule):
        return obj.type_id
    if isinstance(obj, ProcessAutomation) and obj.type_id:
        return obj.type_id
    sub_id = obj.id if isinstance(obj, Substate) else getattr(obj, "substate_id", None)
    sub = obj if isinstance(obj, Substate) else (session.get(Substate, sub_id) if sub_id else None)
    if sub is None:
        return None
    state = sub.state if sub.state is not None else session.get(State, sub.state_id)
    return state.type_id if state is not None else None


def _title(obj) -> str:
    if isinstance(obj, Action):
        from engine.kinds import get_kind  # the registry names the kind

        kind = get_kind(obj.kind)
        return str(kind.label) if kind else obj.kind
    if isinstance(obj, SubstateRequirement):
        return obj.system_field or (obj.custom_field.name if obj.custom_field else "")
    if isinstance(obj, AssignmentRule):
        return f"{obj.partner_kind} · {obj.strategy}"
    return str(getattr(obj, "name", None) or getattr(obj, "label", None) or "")[:200]


def _before_flush(session, _ctx, _instances) -> None:
    pending = session.info.setdefault("flow_changes", [])
    for obj in session.dirty:
        if type(obj) in TRACKED and session.is_modified(obj):
            before, after = _committed(obj), snapshot(obj)
            if before != after:
                pending.append(["update", obj, _type_id(session, obj), before, after])
    for obj in session.deleted:
        if type(obj) in TRACKED:
            pending.append(["delete", obj, _type_id(session, obj), _committed(obj), None])
    for obj in session.new:
        if type(obj) in TRACKED:
            pending.append(["create", obj, None, None, None])


def _user_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user.id if current_user and current_user.is_authenticated else None


def _bump(session, conn, type_id: int) -> int | None:
    """The type's version for this transaction: bumped on its first change, then reused."""
    versions = session.info.setdefault("flow_versions", {})
    if type_id not in versions:
        column = OpportunityType.__table__.c.config_version
        versions[type_id] = conn.execute(
            update(OpportunityType.__table__).where(OpportunityType.__table__.c.id == type_id)
            .values(config_version=column + 1).returning(column)).scalar()
        held = session.identity_map.get(inspect(OpportunityType).identity_key_from_primary_key((type_id,)))
        if held is not None and versions[type_id] is not None:
            attributes.set_committed_value(held, "config_version", versions[type_id])
    return versions[type_id]


def _after_flush(session, _ctx) -> None:
    entries = session.info.pop("flow_changes", [])
    if not entries:
        return
    conn, now, user_id = session.connection(), utcnow(), _user_id()
    gone = {o.id for o in session.deleted if isinstance(o, OpportunityType)}
    rows = []
    for operation, obj, type_id, before, after in entries:
        if operation == "create":
            type_id, after = _type_id(session, obj), snapshot(obj)
        if type_id in gone:
            type_id = None  # the type goes in this flush: its audit cannot point at it
        version = _bump(session, conn, type_id) if type_id is not None else None
        rows.append({"type_id": type_id, "user_id": user_id, "at": now, "entity": TRACKED[type(obj)],
                     "entity_id": obj.id, "operation": operation, "before": before, "after": after,
                     "version": version, "title": _title(obj)})
    conn.execute(insert(FlowChange.__table__), rows)


def _forget(session, *_args) -> None:
    session.info.pop("flow_versions", None)
    session.info.pop("flow_changes", None)


def install() -> None:
    """Listen to every session of the app (called once from create_app)."""
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
        event.listen(db.session, "after_commit", _forget)
        event.listen(db.session, "after_soft_rollback", _forget)


def version_of(substate: Substate) -> int | None:
    """The config version of the substate's type, for a run created now (usually from the identity map)."""
    opp_type = db.session.get(OpportunityType, substate.state.type_id)
    return opp_type.config_version if opp_type is not None else None


# -- reading ---------------------------------------------------------------------------------------------

@dataclass
class Filters:
    entity: str | None = None
    user_id: int | None = None
    start: date | None = None
    end: date | None = None
    before_id: int | None = None


def _shared_ids(opp_type: OpportunityType) -> tuple[set[int], set[int]]:
    """The email and report templates the type's actions use."""
    emails, reports = set(), set()
    configs = db.session.execute(select(Action.config).join(Substate).join(State)
                                 .where(State.type_id == opp_type.id)).scalars()
    for config in configs:
        for key, into in (("email_template_id", emails), ("report_template_id", reports)):
            if isinstance((config or {}).get(key), int):
                into.add(config[key])
    return emails, reports


def list_changes(opp_type: OpportunityType, filters: Filters, limit: int = 50) -> list[FlowChange]:
    """The type's changes newest first, with those of the templates and shared criteria it uses."""
    emails, reports = _shared_ids(opp_type)
    query = select(FlowChange).where(or_(
        FlowChange.type_id == opp_type.id,
        (FlowChange.entity == "email_template") & FlowChange.entity_id.in_(emails or {0}),
        (FlowChange.entity == "report_template") & FlowChange.entity_id.in_(reports or {0}),
        (FlowChange.entity == "assignment_rule") & FlowChange.type_id.is_(None),
    ))
    if filters.entity in ENTITIES:
        query = query.where(FlowChange.entity == filters.entity)
    if filters.user_id:
        query = query.where(FlowChange.user_id == filters.user_id)
    if filters.start:
        query = query.where(FlowChange.at >= datetime.combine(filters.start, time.min))
    if filters.end:
        query = query.where(FlowChange.at <= datetime.combine(filters.end, time.max))
    if filters.before_id:
        query = query.where(FlowChange.id < filters.before_id)
    return list(db.session.execute(query.order_by(FlowChange.id.desc()).limit(limit)).scalars())


def authors(opp_type: OpportunityType) -> list:
    """The users who changed the type, for the filter."""
    from models import User

    return list(db.session.execute(select(User).where(User.id.in_(
        select(FlowChange.user_id).where(FlowChange.type_id == opp_type.id))).order_by(User.name)).scalars())


def _shown(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    return str(value)


def _config_labels(kind_key: str | None) -> dict:
    """The kind's config field labels (its form's), so a diff reads "Email template", not a JSON key."""
    from engine.kinds import get_kind

    kind = get_kind(kind_key)
    if kind is None:
        return {}
    try:
        return {name: str(f.label.text) for name, f in kind.ConfigForm()._fields.items()}
    except Exception:  # noqa: BLE001 - a plug-in's form that needs more to build: keys then show as they are
        return {}


def diff(change: FlowChange) -> list[tuple[str, str, str]]:
    """(label, before, after) for each changed field; an action's settings one line per setting."""
    before, after = change.before or {}, change.after or {}
    rows = []
    for key in sorted(set(before) | set(after), key=lambda k: (k not in FIELD_LABELS, k)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "config" and (isinstance(old, dict) or isinstance(new, dict)):
            labels = _config_labels((after or before).get("kind"))
            old, new = old or {}, new or {}
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    rows.append((f"{FIELD_LABELS['config']} › {labels.get(sub, sub)}",
                                 _shown(old.get(sub)), _shown(new.get(sub))))
            continue
        rows.append((str(FIELD_LABELS.get(key, key)), _shown(old), _shown(new)))
    return rows


# -- restoring -------------------------------------------------------------------------------------------

def restore(opp_type: OpportunityType, change_id: int) -> object:
    """Put an action or substate back as it was after `change_id` (its place on the board stays); the
    restore is itself recorded as a change by the session event."""
    change = db.session.get(FlowChange, change_id)
    if change is None or change.type_id != opp_type.id:
        raise ServiceError(_("This change does not exist."), 404)
    if change.entity not in RESTORABLE or change.after is None:
        raise ServiceError(_("Only a version of an automatic action or a substate can be restored."), 409)
    obj = db.session.get(MODELS[change.entity], change.entity_id)
    if obj is None:
        raise ServiceError(_("It was deleted since: there is nothing to restore it into."), 409)
    for key, value in change.after.items():
        if key in PLACE or key in SKIPPED:
            continue
        if key == "channels":
            obj.channels = list(db.session.execute(select(Channel).where(Channel.id.in_(value))).scalars())
        elif key in _columns(obj):
            setattr(obj, key, json.loads(json.dumps(value)) if isinstance(value, dict | list) else value)
    db.session.flush()
    return obj
