"""D14: reading a flow file (docs/flow-format.md) with bounded work, and checking all of it before anything is
written: each problem is named by its path in the file ("states[2].substates[0].actions[1]: …"), in the
reader's language. services.flow_transfer writes the checked plan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import (
    ActivityType,
    Channel,
    EmailTemplate,
    ExportTemplate,
    ExternalSourceAction,
    Location,
    OpportunityType,
    ProcessAutomation,
    ReportTemplate,
    SmtpCredential,
    State,
    Substate,
    User,
)
from models.flow import ACTION_GROUPS
from services.import_files import FileRefused

FORMAT, VERSION = "oppflow.flow", 1
GROUPS = tuple(ACTION_GROUPS)
MAX_BYTES = 1024 * 1024  # a large real flow is ~100 KB
MAX_STATES, MAX_SUBSTATES, MAX_ITEMS, MAX_DEPTH, MAX_ERRORS = 100, 1000, 200, 8, 30
MAX_TEXT = 50_000
REF_MODELS = {
    "email_template": (EmailTemplate, "name"), "smtp_credential": (SmtpCredential, "name"),
    "report_template": (ReportTemplate, "label"), "export_template": (ExportTemplate, "name"),
    "activity_type": (ActivityType, "name"), "external_action": (ExternalSourceAction, "name"),
    "location": (Location, "name"), "user": (User, "email"), "type": (OpportunityType, "name"),
}
# Config keys that hold ids of other records, and which records.
REF_OF_KEY = {
    "email_template_id": "email_template", "smtp_credential_id": "smtp_credential",
    "report_template_id": "report_template", "export_template_id": "export_template",
    "activity_type_id": "activity_type", "external_action_id": "external_action", "location_id": "location",
    "responsible_user_id": "user", "author_id": "user", "user_ids": "user", "extra_user_ids": "user",
    "invitee_ids": "user", "participant_ids": "user", "observer_ids": "user", "responsible_id": "user",
    "as_user_id": "user", "substate_id": "substate", "substate_ids": "substate",
    "created_in_substate_id": "substate", "type_ids": "type",
}


class ImportRefused(ValueError):
    """The file's problems, each already translated and prefixed with its path."""

    def __init__(self, problems: list[str], status: int = 422) -> None:
        super().__init__("; ".join(problems))
        self.problems, self.status = problems, status


def parse(content: bytes) -> dict:
    """The file as a dict, or FileRefused: too large, not UTF-8 JSON, nested too deep, or not this format."""
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file is larger than %(size)d KB.", size=MAX_BYTES // 1024), 413)
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FileRefused(_("The file is not valid JSON."), 422) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FileRefused(_("This is not an oppflow flow file (its \"format\" must be \"%(format)s\").",
                            format=FORMAT), 422)
    if data.get("version") != VERSION:
        raise FileRefused(_("This flow file has version %(found)s; this installation reads version %(version)d.",
                            found=json.dumps(data.get("version"))[:20], version=VERSION), 422)
    return data


@dataclass
class Plan:
    """A checked file: names resolved to this installation's ids."""

    data: dict
    type_name: str = ""
    type_i18n: dict = field(default_factory=dict)
    refs: dict = field(default_factory=dict)  # (ref, name) -> id
    channels: dict = field(default_factory=dict)  # name -> Channel
    field_refs: dict = field(default_factory=dict)  # field key -> "custom:<id>" | "system:<key>"
    foreign: dict = field(default_factory=dict)  # (type, state, name) -> substate id

    def decode_value(self, value, ids: dict, target: OpportunityType):
        if isinstance(value, list):
            return [self.decode_value(v, ids, target) for v in value]
        if not isinstance(value, dict) or "ref" not in value:
            return value
        ref = value["ref"]
        if ref == "substate":
            if "key" in value:
                return ids[value["key"]]
            return self.foreign[(value.get("type"), value.get("state"), value.get("name"))]
        if ref == "type" and value.get("self"):
            return target.id
        if ref == "field":
            return self.field_refs[value.get("key")]
        return self.refs[(ref, value.get("name"))]

    def decode(self, config: dict, ids: dict, target: OpportunityType) -> dict:
        return {key: self.decode_value(value, ids, target) for key, value in config.items()}


class _Checker:
    def __init__(self, data: dict) -> None:
        self.plan = Plan(data)
        self.problems: list[str] = []
        self.keys: set[str] = set()
        self.wanted: list[tuple[str, object]] = []  # (path, reference) resolved once every key is known

    def fail(self, path: str, message: str) -> None:
        if len(self.problems) < MAX_ERRORS:
            self.problems.append(f"{path}: {message}" if path else message)

    def text(self, item: dict, key: str, path: str, limit: int = 120, required: bool = True) -> None:
        value = item.get(key)
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit or "\x00" in value:
            self.fail(f"{path}.{key}", _("must be a text of 1 to %(max)d characters.", max=limit))

    def flags(self, item: dict, path: str, *keys: str) -> None:
        for key in keys:
            if item.get(key) is not None and not isinstance(item.get(key), bool):
                self.fail(f"{path}.{key}", _("must be true or false."))

    def names(self, item: dict, path: str) -> None:
        self.text(item, "name", path)
        i18n = item.get("name_i18n") or {}
        if not isinstance(i18n, dict) or any(not isinstance(k, str) or len(k) > 5 or not isinstance(v, str)
                                            or len(v) > 120 or "\x00" in k + v for k, v in i18n.items()):
            self.fail(f"{path}.name_i18n", _("must map language codes to names."))

    def items(self, item: dict, key: str, path: str, limit: int = MAX_ITEMS) -> list:
        value = item.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{path}.{key}", _("must be a list."))
            return []
        if len(value) > limit:
            self.fail(f"{path}.{key}", _("has more than %(max)d items.", max=limit))
            return []
        return value

    def config(self, config, path: str, depth: int = 0) -> None:
        """Plain JSON of bounded depth and size, with every reference well formed."""
        if depth > MAX_DEPTH:
            self.fail(path, _("is nested too deeply."))
        elif isinstance(config, dict):
            if "ref" in config:
                self.wanted.append((path, config))
                return
            for key, value in config.items():
                if "\x00" in key or len(key) > 60:
                    self.fail(path, _("has a key that is not valid."))
                self.config(value, f"{path}.{key}", depth + 1)
        elif isinstance(config, list):
            if len(config) > MAX_ITEMS:
                self.fail(path, _("has more than %(max)d items.", max=MAX_ITEMS))
            for i, value in enumerate(config[:MAX_ITEMS]):
                self.config(value, f"{path}[{i}]", depth + 1)
        elif isinstance(config, str) and (len(config) > MAX_TEXT or "\x00" in config):
            self.fail(path, _("must be a text of 1 to %(max)d characters.", max=MAX_TEXT))
        elif isinstance(config, int) and not isinstance(config, bool) and abs(config) > 2**31:
            self.fail(path, _("is out of range."))


def check(data: dict, target: OpportunityType | None, new_name: str | None) -> Plan:
    """Every problem of the file at once (ImportRefused), else the plan to write it."""
    from services import flow_reader_items as items

    checker = _Checker(data)
    items.check_type(checker, data, target, new_name)
    if not checker.problems:
        items.check_states(checker, data)
    if not checker.problems:
        items.check_automations(checker, data)
        items.resolve(checker)
    if checker.problems:
        raise ImportRefused(checker.problems)
    return checker.plan


def type_is_empty(opp_type: OpportunityType) -> bool:
    return not db.session.scalar(select(func.count(State.id)).where(State.type_id == opp_type.id))


def name_taken(name: str) -> bool:
    return db.session.scalar(select(func.count(OpportunityType.id))
                             .where(func.lower(OpportunityType.name) == name.strip().lower())) > 0


def automation_taken(field_ref: str) -> str | None:
    """The name of the automation that already uses the field, if one does (each field serves one)."""
    kind, _sep, key = field_ref.partition(":")
    where = (ProcessAutomation.custom_field_id == int(key)) if kind == "custom" else \
        (ProcessAutomation.system_field == key)
    return db.session.scalar(select(ProcessAutomation.name).where(where))


def lookups() -> dict:
    """Every named record an import may refer to, by (ref, name)."""
    out = {}
    for ref, (model, attr) in REF_MODELS.items():
        for record_id, name in db.session.execute(select(model.id, getattr(model, attr))).all():
            out.setdefault((ref, name), record_id)
    return out


def channels() -> dict:
    return {c.name: c for c in db.session.execute(select(Channel)).scalars()}


def foreign_substate(type_name, state_name, name) -> int | None:
    return db.session.scalar(select(Substate.id).join(State).join(OpportunityType).where(
        OpportunityType.name == type_name, State.name == state_name, Substate.name == name).limit(1))
