"""Settings → Custom fields (S11): the fields an admin adds to opportunities, named like other settings (a
fallback name and it/es/en translations), with a stable key, a type, a choice's options and the opportunity
types they apply to. What opportunities already hold is protected: a field with values keeps its type and
key, an option that is chosen somewhere stays, and a field in use is archived rather than deleted."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select

from extensions import db
from models import (
    CustomField,
    FieldValue,
    OpportunityType,
    ProcessAutomation,
    Substate,
    SubstateRequirement,
    Trigger,
    User,
)
from models.fields import CHOICE_TYPES, FIELD_TYPES
from services import ServiceError
from services import field_values as fv
from services.flow import clean_names
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")
KEY_MAX = 60
MAX_OPTIONS = 100
# Keys name fields in placeholders ({{ opportunity.fields.<key> }}) and a choice's stored value ("|a|b|"):
# plain lowercase ASCII keeps both unambiguous.
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class FieldData:
    """What the settings form sends: options as rows of {"key", "name", "it", "es", "en"} (blank rows
    are ignored); `type_ids` empty means every opportunity type."""

    name: str
    translations: dict
    key: str
    field_type: str
    options: list[dict] = field(default_factory=list)
    type_ids: list[int] = field(default_factory=list)
    required: bool = False


def list_fields() -> list[tuple[CustomField, int]]:
    """Every custom field in its order, with how many opportunities hold a value for it."""
    counts = dict(db.session.execute(
        select(FieldValue.field_id, func.count()).group_by(FieldValue.field_id)).all())
    rows = db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.id)).scalars()
    return [(f, counts.get(f.id, 0)) for f in rows]


def value_count(custom: CustomField) -> int:
    """How many opportunities hold a value for this field."""
    return db.session.scalar(select(func.count()).where(FieldValue.field_id == custom.id)) or 0


def offered_types(custom: CustomField | None = None) -> list[OpportunityType]:
    """The opportunity types the form offers: live ones, and any archived one the field already names."""
    chosen = {t.id for t in custom.types} if custom else set()
    types = db.session.execute(select(OpportunityType).order_by(OpportunityType.name)).scalars()
    return [t for t in types if not t.archived or t.id in chosen]


def suggest_key(name: str | None) -> str:
    """A key made from a name ("Potenza kWp" → "potenza_kwp"): accents dropped, other marks as "_"."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"
    return key[:KEY_MAX].rstrip("_")


def _check_key(key: str, errors: dict, slot: str) -> None:
    if not key:
        errors[slot] = _("Enter a key.")
    elif len(key) > KEY_MAX:
        errors[slot] = _("At most %(max)d characters.", max=KEY_MAX)
    elif not KEY_PATTERN.fullmatch(key):
        errors[slot] = _("A key has lowercase letters without accents, digits and “_”, and starts with a letter.")


def _clean_options(rows: list[dict], errors: dict) -> list[dict]:
    """The options of a choice: each with a name, translations and a unique key (made from the name if empty)."""
    options, keys = [], set()
    for row in rows:
        row = {k: (row.get(k) or "").strip() for k in ("key", "name", "it", "es", "en")}
        if not any(row.values()):
            continue
        if not row["name"]:
            errors["options"] = _("Give every option a name.")
            continue
        try:
            name, i18n = clean_names(row["name"], {lang: row[lang] for lang in ("it", "es", "en")})
        except InvalidData as err:
            errors["options"] = next(iter(err.errors.values()))
            continue
        key = row["key"] or suggest_key(name)
        _check_key(key, errors, "options")
        if key in keys:
            errors["options"] = _("Two options have the key “%(key)s”; give each option its own key.", key=key)
        keys.add(key)
        options.append({"key": key, "name": name, "name_i18n": i18n})
    if len(options) > MAX_OPTIONS:
        errors["options"] = _("At most %(max)d options.", max=MAX_OPTIONS)
    return options


def _option_uses(custom: CustomField, key: str) -> int:
    """How many opportunities have this option chosen ("|a|b|" holds a multiple choice's keys)."""
    column = FieldValue.text
    match = column.like(f"%|{key}|%") if custom.field_type == "multi_choice" else column == key
    return db.session.scalar(select(func.count()).where(FieldValue.field_id == custom.id, match)) or 0


def _clean(data: FieldData, custom: CustomField | None) -> tuple[str, dict, str, list[dict], list[OpportunityType]]:
    errors: dict[str, str] = {}
    try:
        name, i18n = clean_names(data.name, data.translations)
    except InvalidData as err:
        errors.update(err.errors)
        name, i18n = (data.name or "").strip(), {}
    if "name" not in errors and name_taken(CustomField.name, name, custom.id if custom else None):
        errors["name"] = _("Another custom field already has this name.")
    key = (data.key or "").strip() or suggest_key(name)
    _check_key(key, errors, "key")
    if "key" not in errors:
        other = db.session.execute(select(CustomField.id).where(CustomField.key == key)).scalar()
        if other is not None and (custom is None or other != custom.id):
            errors["key"] = _("Another custom field already has the key “%(key)s”.", key=key)
    if data.field_type not in FIELD_TYPES:
        errors["field_type"] = _("Choose a type.")
    options = _clean_options(data.options, errors) if data.field_type in CHOICE_TYPES else []
    if data.field_type in CHOICE_TYPES and not options and "options" not in errors:
        errors["options"] = _("A choice needs at least one option.")
    wanted = set(data.type_ids or [])
    types = [t for t in offered_types(custom) if t.id in wanted]
    if len(types) != len(wanted):
        errors["type_ids"] = _("Choose opportunity types from the list.")
    if custom is not None:
        _check_change(custom, key, data.field_type, options, errors)
    if errors:
        raise InvalidData(errors)
    return name, i18n, key, options, types


def _check_change(custom: CustomField, key: str, field_type: str, options: list[dict], errors: dict) -> None:
    """What opportunities already hold stays readable: no new type or key once values exist, no removed
    option that is chosen somewhere."""
    used = value_count(custom)
    if used and field_type != custom.field_type and "field_type" not in errors:
        errors["field_type"] = ngettext(
            "The type cannot change: %(num)d opportunity has a value for this field.",
            "The type cannot change: %(num)d opportunities have a value for this field.", used)
    if used and key != custom.key and "key" not in errors:
        errors["key"] = ngettext(
            "The key cannot change: %(num)d opportunity has a value for this field.",
            "The key cannot change: %(num)d opportunities have a value for this field.", used)
    if field_type != custom.field_type or "options" in errors:
        return
    kept = {o["key"] for o in options}
    for option in custom.options or []:
        uses = _option_uses(custom, option["key"]) if option["key"] not in kept else 0
        if uses:
            errors["options"] = ngettext(
                "The option “%(name)s” is chosen on %(num)d opportunity and cannot be removed.",
                "The option “%(name)s” is chosen on %(num)d opportunities and cannot be removed.",
                uses, name=option.get("name") or option["key"])
            return


def create_field(data: FieldData, actor: User) -> CustomField:
    """Add a custom field at the end of the list."""
    name, i18n, key, options, types = _clean(data, None)
    position = (db.session.scalar(select(func.max(CustomField.position))) or 0) + 1
    custom = CustomField(name=name, name_i18n=i18n, key=key, field_type=data.field_type, options=options,
                         required=bool(data.required), archived=False, position=position, types=types)
    db.session.add(custom)
    flush_unique("key", _("Another custom field already has the key “%(key)s”.", key=key))
    log.info("custom field %s (%s) created by %s", custom.id, key, actor.id)
    return custom


def update_field(custom: CustomField, data: FieldData, actor: User) -> CustomField:
    """Rename a field, change its options, types or required flag (its type and key while it has no values)."""
    name, i18n, key, options, types = _clean(data, custom)
    custom.name, custom.name_i18n, custom.key = name, i18n, key
    custom.field_type, custom.options, custom.types = data.field_type, options, types
    custom.required = bool(data.required)
    flush_unique("key", _("Another custom field already has the key “%(key)s”.", key=key))
    log.info("custom field %s changed by %s", custom.id, actor.id)
    return custom


def shift_field(custom: CustomField, delta: int, actor: User) -> CustomField:
    """Move a field one place up (-1) or down (+1) in the list and on opportunity pages; at an end, nothing."""
    ordered = list(db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.id)).scalars())
    index = ordered.index(custom)
    ordered.insert(max(0, min(len(ordered) - 1, index + delta)), ordered.pop(index))
    for position, item in enumerate(ordered):
        item.position = position
    db.session.flush()
    log.info("custom field %s moved by %s", custom.id, actor.id)
    return custom


def set_archived(custom: CustomField, archived: bool, actor: User) -> CustomField:
    """Archive a field (opportunities no longer show or ask for it; its values are kept) or bring it back."""
    custom.archived = archived
    db.session.flush()
    log.info("custom field %s %s by %s", custom.id, "archived" if archived else "unarchived", actor.id)
    return custom


def uses_of(custom: CustomField) -> list[str]:
    """Why the field cannot be deleted, in words: its values, automations, required fields and triggers."""
    reasons = []
    used = value_count(custom)
    if used:
        reasons.append(ngettext("%(num)d opportunity has a value for it.",
                                "%(num)d opportunities have a value for it.", used))
    for automation in db.session.execute(select(ProcessAutomation).where(
            ProcessAutomation.custom_field_id == custom.id)).scalars():
        reasons.append(_("The process automation “%(name)s” uses it.", name=automation.name))
    for substate in db.session.execute(select(Substate).join(
            SubstateRequirement, SubstateRequirement.substate_id == Substate.id).where(
            SubstateRequirement.custom_field_id == custom.id)).scalars():
        reasons.append(_("The substate “%(name)s” requires it.", name=substate.label))
    ref = f"custom:{custom.id}"
    for trigger in db.session.execute(select(Trigger).where(Trigger.kind == "field")).scalars():
        if (trigger.config or {}).get("field") == ref:
            reasons.append(_("The trigger “%(name)s” waits for it.", name=trigger.name))
    return reasons


def delete_field(custom: CustomField, actor: User) -> None:
    """Delete a field nothing uses; otherwise refuse with the reasons (archive it instead)."""
    reasons = uses_of(custom)
    if reasons:
        raise ServiceError(" ".join([_("“%(name)s” cannot be deleted:", name=custom.label), *reasons,
                                     _("Archive it instead.")]), 409)
    log.info("custom field %s (%s) deleted by %s", custom.id, custom.key, actor.id)
    db.session.delete(custom)
    db.session.flush()


def fields_of(opp) -> list[fv.FieldRef]:
    """The fields the opportunity page shows: the system fields, then the live custom fields of its type."""
    # Which fields apply is asked in the query: a field's types read one by one cost a query per field.
    customs = db.session.execute(
        select(CustomField).where(CustomField.archived.is_(False),
                                  or_(~CustomField.types.any(), CustomField.types.any(OpportunityType.id == opp.type_id)))
        .order_by(CustomField.position, CustomField.id)).scalars()
    return [*(fv.system_ref(key) for key in fv.SYSTEM_FIELDS), *(fv.custom_ref(c) for c in customs)]
