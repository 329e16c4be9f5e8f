"""D14: the checks of a flow file's items, one function per part of the document (services.flow_reader)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.kinds import get_kind
from engine.trigger_types import get_trigger_type
from models import OpportunityType
from models.flow import DELAY_UNITS
from services import field_values
from services import flow_reader as fr

REF_LABELS = {
    "email_template": _l("email template"), "smtp_credential": _l("SMTP credentials"),
    "report_template": _l("report template"), "export_template": _l("export template"),
    "activity_type": _l("activity type"), "external_action": _l("external-source action"),
    "location": _l("location"), "user": _l("user"), "type": _l("opportunity type"),
}


def check_type(c, data: dict, target: OpportunityType | None, new_name: str | None) -> None:
    """Into an empty type, or a new one whose name is free."""
    item = data.get("type")
    if not isinstance(item, dict):
        c.fail("type", _("is missing."))
        return
    c.names(item, "type")
    if target is not None:
        if not fr.type_is_empty(target):
            c.fail("", _("This type already has states: import into an empty type, or as a new type."))
        return
    name = (new_name or "").strip() or item.get("name")
    if new_name and (len(name) > 120 or "\x00" in name):
        c.fail("type.name", _("must be a text of 1 to %(max)d characters.", max=120))
    elif isinstance(name, str) and name.strip() and "\x00" not in name and len(name) <= 120:
        if fr.name_taken(name):
            c.fail("type.name", _("an opportunity type named “%(name)s” already exists: give the new type "
                                  "another name.", name=name))
        c.plan.type_name, c.plan.type_i18n = name.strip(), dict(item.get("name_i18n") or {}) if not new_name else {}


def check_states(c, data: dict) -> None:
    states = c.items(data, "states", "", fr.MAX_STATES)
    if not states and not isinstance(data.get("states"), list):
        c.fail("states", _("is missing."))
    count = 0
    for i, state in enumerate(states):
        path = f"states[{i}]"
        if not isinstance(state, dict):
            c.fail(path, _("must be an object."))
            continue
        c.names(state, path)
        c.flags(state, path, "archived")
        subs = c.items(state, "substates", path)
        count += len(subs)
        if count > fr.MAX_SUBSTATES:
            c.fail(path, _("the file has more than %(max)d substates.", max=fr.MAX_SUBSTATES))
            return
        for j, sub in enumerate(subs):
            _substate(c, sub, f"{path}.substates[{j}]")


def _substate(c, sub, path: str) -> None:
    if not isinstance(sub, dict):
        c.fail(path, _("must be an object."))
        return
    c.names(sub, path)
    c.flags(sub, path, "archived", "partner_can_act", "requires_note")
    key = sub.get("key")
    if not isinstance(key, str) or not key or len(key) > 20:
        c.fail(f"{path}.key", _("must be a short text naming the substate in this file."))
    elif key in c.keys:
        c.fail(f"{path}.key", _("“%(key)s” names two substates.", key=key))
    else:
        c.keys.add(key)
    for k, action in enumerate(c.items(sub, "actions", path)):
        _action(c, action, f"{path}.actions[{k}]")
    for k, trigger in enumerate(c.items(sub, "triggers", path)):
        _trigger(c, trigger, f"{path}.triggers[{k}]")
    required = c.items(sub, "required", path)
    for k, field_key in enumerate(required):
        _field(c, field_key, f"{path}.required[{k}]")
        if isinstance(field_key, str) and required.index(field_key) < k:
            c.fail(f"{path}.required[{k}]", _("the field “%(key)s” is listed twice.", key=field_key[:60]))


def _action(c, action, path: str) -> None:
    if not isinstance(action, dict):
        c.fail(path, _("must be an object."))
        return
    if action.get("group") not in fr.GROUPS:
        c.fail(f"{path}.group", _("must be one of %(choices)s.", choices=", ".join(fr.GROUPS)))
    kind = action.get("kind")
    if not isinstance(kind, str) or get_kind(kind) is None:
        c.fail(path, _("unknown action kind “%(kind)s”.", kind=str(kind)[:40]))
    _config(c, action.get("config") or {}, f"{path}.config")
    amount = action.get("delay_amount")
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 100_000):
        c.fail(f"{path}.delay_amount", _("must be a whole number from 0 to 100000."))
    if action.get("delay_unit") is not None and action.get("delay_unit") not in DELAY_UNITS:
        c.fail(f"{path}.delay_unit", _("must be one of %(choices)s.", choices=", ".join(DELAY_UNITS)))
    c.flags(action, path, "respect_working_hours", "enabled")
    for k, name in enumerate(c.items(action, "channels", path)):
        c.wanted.append((f"{path}.channels[{k}]", {"ref": "channel", "name": name}))


def _trigger(c, trigger, path: str) -> None:
    if not isinstance(trigger, dict):
        c.fail(path, _("must be an object."))
        return
    kind = trigger.get("kind")
    if not isinstance(kind, str) or get_trigger_type(kind) is None:
        c.fail(path, _("unknown trigger type “%(kind)s”.", kind=str(kind)[:40]))
    c.text(trigger, "name", path, 160)
    _config(c, trigger.get("config") or {}, f"{path}.config")
    as_user = trigger.get("as_user")
    if as_user is not None and not (isinstance(as_user, dict) and as_user.get("ref") == "user"):
        c.fail(f"{path}.as_user", _("must name a user by reference, or be null."))
    elif as_user is not None:
        c.config(as_user, f"{path}.as_user")
    c.flags(trigger, path, "allow_back", "enabled")


def _config(c, config, path: str) -> None:
    """A config object whose id-holding keys name records by reference only (never by a bare id)."""
    if not isinstance(config, dict):
        c.fail(path, _("must be an object."))
        return
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if key in fr.REF_OF_KEY and any(v is not None and not (isinstance(v, dict) and v.get("ref") ==
                                                                 fr.REF_OF_KEY[key]) for v in values):
            c.fail(f"{path}.{key}", _("must name a record by reference, as an export writes it."))
        elif key == "field" and isinstance(value, str):
            c.fail(f"{path}.{key}", _("must name a record by reference, as an export writes it."))
    c.config(config, path)


def _field(c, key, path: str) -> None:
    """A field named by its key (a custom field's key or a system field's)."""
    ref = field_values.ref_of_key(key) if isinstance(key, str) and 0 < len(key) <= 60 else None
    if ref is None:
        c.fail(path, _("no field “%(key)s” in this installation.", key=str(key)[:60]))
    else:
        c.plan.field_refs[key] = ref


def check_automations(c, data: dict) -> None:
    used_subs: set[str] = set()
    for i, auto in enumerate(c.items(data, "automations", "")):
        path = f"automations[{i}]"
        if not isinstance(auto, dict):
            c.fail(path, _("must be an object."))
            continue
        c.text(auto, "name", path, 160)
        c.flags(auto, path, "active")
        if auto.get("substate") not in c.keys or auto.get("substate") in used_subs:
            c.fail(f"{path}.substate", _("must name a substate of this file that no other automation uses."))
        used_subs.add(auto.get("substate"))
        _field(c, auto.get("field"), f"{path}.field")
        ref = c.plan.field_refs.get(auto.get("field")) if isinstance(auto.get("field"), str) else None
        taken = fr.automation_taken(ref) if ref else None
        if taken:
            c.fail(f"{path}.field", _("the field already serves the process automation “%(name)s”.", name=taken))


def resolve(c) -> None:
    """Each reference names a record of this installation (or a substate of the file)."""
    known, channels = fr.lookups(), fr.channels()
    for path, ref in c.wanted:
        kind, name = ref.get("ref"), ref.get("name")
        if kind == "channel":
            if isinstance(name, str) and name in channels:
                c.plan.channels[name] = channels[name]
            else:
                c.fail(path, _("no channel “%(name)s” in this installation.", name=str(name)[:120]))
        elif kind == "substate" and "key" in ref:
            if not isinstance(ref["key"], str) or ref["key"] not in c.keys:
                c.fail(path, _("no substate “%(key)s” in this file.", key=str(ref["key"])[:20]))
        elif kind == "substate":
            place = (ref.get("type"), ref.get("state"), name)
            found = fr.foreign_substate(*place) if all(isinstance(p, str) for p in place) else None
            if found is None:
                c.fail(path, _("no substate “%(name)s” in this installation.", name=str(name)[:120]))
            else:
                c.plan.foreign[place] = found
        elif kind == "type" and ref.get("self") is True:
            continue
        elif kind == "field":
            _field(c, ref.get("key"), path)
        elif kind in fr.REF_MODELS and isinstance(name, str) and (kind, name) in known:
            c.plan.refs[(kind, name)] = known[(kind, name)]
        else:
            what = REF_LABELS.get(kind) if isinstance(kind, str) else None
            c.fail(path, _("no %(what)s “%(name)s” in this installation.", what=what or _("record"),
                           name=str(name)[:120]))
