"""D14: a flow as a JSON document (docs/flow-format.md) and back. Records outside the flow (templates, SMTP
credentials, users, channels, custom fields…) travel by name, never by id, so a file moves between
installations; substates of the flow travel by a key local to the file ("S1", "S2"…).

Import reads the whole file, checks every item and resolves every name first (services.flow_reader), then
writes, checking each action and trigger with the designer's own validation once its substates exist (the
kinds' choices are the new flow's); any problem refuses the whole file and the caller rolls back."""

from __future__ import annotations

from sqlalchemy import select

from engine.kinds import get_kind
from engine.kinds.base import RefField, RefsField
from engine.trigger_types import get_trigger_type
from extensions import db
from models import (
    Action,
    CustomField,
    OpportunityType,
    ProcessAutomation,
    State,
    Substate,
    SubstateRequirement,
    Trigger,
)
from models.base import utcnow
from services import actions as action_svc
from services import flow_reader
from services import triggers as trigger_svc
from services.flow_reader import FORMAT, REF_MODELS, REF_OF_KEY, VERSION, Plan
from services.validation import InvalidData

DROPPED = {"attachment_upload"}  # an uploaded file stays in its installation


# -- export ------------------------------------------------------------------------------------------------

class _Names:
    """Names of referenced records, each table read once."""

    def __init__(self, opp_type: OpportunityType) -> None:
        self.cache: dict[str, dict] = {}
        self.keys = {sub.id: f"S{i}" for i, sub in enumerate(opp_type.substates, start=1)}
        self.type_id = opp_type.id
        self.used: dict[str, set] = {}

    def name(self, ref: str, record_id):
        model, attr = REF_MODELS[ref]
        if ref not in self.cache:
            self.cache[ref] = {r.id: getattr(r, attr) for r in db.session.execute(select(model)).scalars()}
        return self.cache[ref].get(record_id)

    def encode(self, ref: str, value):
        if isinstance(value, list):
            return [self.encode(ref, v) for v in value]
        if not isinstance(value, int) or isinstance(value, bool):
            return value
        if ref == "substate":
            if value in self.keys:
                return {"ref": "substate", "key": self.keys[value]}
            sub = db.session.get(Substate, value)
            if sub is None:
                return None
            return {"ref": "substate", "type": sub.state.type.name, "state": sub.state.name, "name": sub.name}
        if ref == "type" and value == self.type_id:
            return {"ref": "type", "self": True}
        name = self.name(ref, value)
        if name is None:
            return None  # it was deleted: the action names nothing, as here
        self.used.setdefault(ref, set()).add(name)
        return {"ref": ref, "name": name}

    def field_key(self, ref: str | None) -> str | None:
        """A field reference ("custom:3" / "system:city") as the field's key."""
        kind, _sep, key = (ref or "").partition(":")
        if kind == "custom":
            field = db.session.get(CustomField, int(key)) if key.isdigit() else None
            return field.key if field else None
        return key or None

    def config(self, config: dict) -> dict:
        out = {}
        for key, value in (config or {}).items():
            if key in DROPPED:
                out[key] = None
            elif key in REF_OF_KEY:
                out[key] = self.encode(REF_OF_KEY[key], value)
            elif key == "field" and isinstance(value, str):
                out[key] = {"ref": "field", "key": self.field_key(value)}
            else:
                out[key] = value
        return out


def _action(action: Action, names: _Names) -> dict:
    return {"group": action.group, "kind": action.kind, "config": names.config(action.config),
            "delay_amount": action.delay_amount, "delay_unit": action.delay_unit,
            "respect_working_hours": action.respect_working_hours, "enabled": action.enabled,
            "channels": [c.name for c in action.channels]}


def _trigger(trigger: Trigger, names: _Names) -> dict:
    return {"kind": trigger.kind, "name": trigger.name, "config": names.config(trigger.config),
            "as_user": names.encode("user", trigger.as_user_id), "allow_back": trigger.allow_back,
            "enabled": trigger.enabled}


def _substate(sub: Substate, names: _Names) -> dict:
    triggers = db.session.execute(select(Trigger).where(Trigger.substate_id == sub.id)
                                  .order_by(Trigger.position, Trigger.id)).scalars()
    required = db.session.execute(select(SubstateRequirement).where(SubstateRequirement.substate_id == sub.id)
                                  .order_by(SubstateRequirement.id)).scalars()
    return {"key": names.keys[sub.id], "name": sub.name, "name_i18n": dict(sub.name_i18n or {}),
            "archived": sub.archived, "partner_can_act": sub.partner_can_act, "requires_note": sub.requires_note,
            "actions": [_action(a, names) for a in sorted(sub.actions, key=lambda a: (
                list(flow_reader.GROUPS).index(a.group) if a.group in flow_reader.GROUPS else 9, a.position, a.id))],
            "triggers": [_trigger(t, names) for t in triggers],
            "required": [names.field_key(f"custom:{r.custom_field_id}" if r.custom_field_id
                                         else f"system:{r.system_field}") for r in required]}


def export_type(opp_type: OpportunityType) -> dict:
    """The type's flow as a format-1 document."""
    names = _Names(opp_type)
    states = [{"name": s.name, "name_i18n": dict(s.name_i18n or {}), "archived": s.archived,
               "substates": [_substate(sub, names) for sub in s.substates]} for s in opp_type.states]
    automations = db.session.execute(select(ProcessAutomation).where(
        ProcessAutomation.substate_id.in_(names.keys) if names.keys else ProcessAutomation.id.is_(None))
        .order_by(ProcessAutomation.id)).scalars()
    return {"format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat(timespec="seconds"),
            "type": {"name": opp_type.name, "name_i18n": dict(opp_type.name_i18n or {})},
            "states": states,
            "automations": [{"name": a.name, "field": names.field_key(a.field_ref),
                             "substate": names.keys[a.substate_id], "active": a.active} for a in automations],
            "references": {ref: sorted(v) for ref, v in sorted(names.used.items())}}


# -- import ------------------------------------------------------------------------------------------------

def import_flow(content: bytes, target: OpportunityType | None, new_name: str | None = None) -> OpportunityType:
    """Read, check and write the file's flow into the empty `target`, or a new type (named `new_name` or as
    in the file); FileRefused / ImportRefused (4xx) before anything is written."""
    data = flow_reader.parse(content)
    plan = flow_reader.check(data, target, new_name)
    return _write(plan, target)


def _write(plan: Plan, target: OpportunityType | None) -> OpportunityType:
    if target is None:
        target = OpportunityType(name=plan.type_name, name_i18n=plan.type_i18n)
        db.session.add(target)
    subs: dict[str, Substate] = {}
    for s_pos, state_data in enumerate(plan.data["states"]):
        state = State(type=target, name=state_data["name"], name_i18n=state_data.get("name_i18n") or {},
                      archived=bool(state_data.get("archived")), position=s_pos)
        db.session.add(state)
        for pos, sub_data in enumerate(state_data.get("substates") or []):
            subs[sub_data["key"]] = Substate(
                state=state, name=sub_data["name"], name_i18n=sub_data.get("name_i18n") or {}, position=pos,
                archived=bool(sub_data.get("archived")), partner_can_act=bool(sub_data.get("partner_can_act")),
                requires_note=bool(sub_data.get("requires_note")))
            db.session.add(subs[sub_data["key"]])  # SQLAlchemy 2.0 no longer cascades along backrefs
    db.session.flush()  # substate ids: the actions' configs point at them
    ids = {key: sub.id for key, sub in subs.items()}
    problems: list[str] = []
    for s_index, state_data in enumerate(plan.data["states"]):
        for index, sub_data in enumerate(state_data.get("substates") or []):
            problems += _write_substate(plan, subs[sub_data["key"]], sub_data, ids, target,
                                        f"states[{s_index}].substates[{index}]")
    if problems:
        raise flow_reader.ImportRefused(problems)
    for auto in plan.data.get("automations") or []:
        ref = plan.field_refs[auto["field"]]
        kind, _sep, key = ref.partition(":")
        db.session.add(ProcessAutomation(
            name=auto["name"], custom_field_id=int(key) if kind == "custom" else None,
            system_field=key if kind == "system" else None, type_id=target.id, substate_id=ids[auto["substate"]],
            active=bool(auto.get("active")), field_name=auto["field"], substate_name=subs[auto["substate"]].name))
    db.session.flush()
    return target


def _write_substate(plan: Plan, sub: Substate, data: dict, ids: dict, target: OpportunityType,
                    path: str) -> list[str]:
    """Write the substate's actions, triggers and required fields; returns what the designer's checks refuse
    in its actions and triggers, each message prefixed with the item's path in the file."""
    positions: dict[str, int] = {}
    problems: list[str] = []
    for index, item in enumerate(data.get("actions") or []):
        position = positions[item["group"]] = positions.get(item["group"], -1) + 1
        config = plan.decode(item.get("config") or {}, ids, target)
        if config.get("attachment") == "upload" and not config.get("attachment_upload"):
            config["attachment"] = "none"  # the uploaded file stayed in its installation (docs/flow-format.md)
        action = Action(group=item["group"], kind=item["kind"], position=position, config=config,
                        delay_amount=item.get("delay_amount"), delay_unit=item.get("delay_unit"),
                        respect_working_hours=bool(item.get("respect_working_hours")),
                        enabled=item.get("enabled", True) is not False,
                        channels=[plan.channels[name] for name in dict.fromkeys(item.get("channels") or [])])
        problems += _refused(f"{path}.actions[{index}]", get_kind(action.kind).build_form(sub, data=action.config),
                             action.config, lambda action=action: action_svc.validate(sub, action_svc.ActionData(
                                 group=action.group, kind=action.kind, config=action.config,
                                 delay_amount=action.delay_amount, delay_unit=action.delay_unit,
                                 respect_working_hours=action.respect_working_hours,
                                 channel_ids=[c.id for c in action.channels] or None)))
        action.substate = sub
        db.session.add(action)
    for position, item in enumerate(data.get("triggers") or []):
        trigger = Trigger(substate_id=sub.id, kind=item["kind"], name=item["name"], position=position,
                          config=plan.decode(item.get("config") or {}, ids, target),
                          as_user_id=plan.decode_value(item.get("as_user"), ids, target),
                          allow_back=bool(item.get("allow_back")), enabled=item.get("enabled", True) is not False)
        form_data = {**trigger.config, "name": trigger.name, "as_user_id": trigger.as_user_id,
                     "allow_back": trigger.allow_back}
        problems += _refused(f"{path}.triggers[{position}]",
                             get_trigger_type(trigger.kind).build_form(sub, data=form_data), form_data,
                             lambda form_data=form_data, trigger=trigger: trigger_svc.validate(
                                 sub, trigger_svc.TriggerData(kind=trigger.kind, config=form_data)))
        db.session.add(trigger)
    for key in data.get("required") or []:
        kind, _sep, value = plan.field_refs[key].partition(":")
        db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=int(value) if kind == "custom" else None,
                                           system_field=value if kind == "system" else None))
    return problems


def _refused(path: str, form, config: dict, check) -> list[str]:
    """What `check` (the designer's validation of one action or trigger) refuses, as "<path>.config.<field>:
    message" lines. A reference the reader resolved is left to it: the designer offers only live records, but
    a flow may keep pointing at one archived since (a substate, a template), and the copy must keep it too."""
    try:
        with db.session.no_autoflush:
            check()
    except InvalidData as refused:
        lines = []
        for name, message in refused.errors.items():
            key = name.removeprefix("config-")
            field = form._fields.get(key) if name.startswith("config-") else None
            if isinstance(field, (RefField, RefsField)) and config.get(key) not in (None, [], ""):
                continue
            lines.append(f"{path}.config.{key}: {message}" if field is not None else f"{path}: {message}")
        return lines + [f"{path}: {missing}" for missing in getattr(refused, "missing", [])]
    return []
