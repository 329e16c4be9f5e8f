"""The values of an opportunity's fields — custom fields (S11) and the system fields process automations use
(company name, contact person, acquisition source) — read as typed in the page's language, stored typed, and
announced (events.field_changed) so process automations and field triggers follow, whatever path set them:
the page, an import, the API.

A field is named by a reference: "custom:<id>" or "system:<key>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, select

from extensions import db
from models import CustomField, FieldValue, Opportunity, User
from models.base import utcnow
from models.fields import CHOICE_TYPES
from services import ServiceError, events
from services.events import Chain, FieldChange
from services.locale_input import InputRefused, format_date_input, format_number, parse_date, parse_number
from services.validation import InvalidData, record_id_or_none

# The opportunity's own columns offered as fields (seed 003), with their longest accepted value.
SYSTEM_FIELDS = {
    "company_name": (_l("Company name"), 160),
    "contact_person": (_l("Contact person"), 160),
    "acquisition_source": (_l("Acquisition source"), 120),
}
TEXT_MAX, LONG_TEXT_MAX = 2000, 10000
NUMBER_MAX = Decimal("999999999999")  # Numeric(16, 4) holds twelve digits before the point


@dataclass(frozen=True)
class FieldRef:
    """A field of opportunities: a custom field (its row) or a system field (its key)."""

    ref: str
    label: str
    field_type: str
    custom: CustomField | None = None

    @property
    def system_key(self) -> str | None:
        return None if self.custom else self.ref.removeprefix("system:")

    @property
    def options(self) -> list[dict]:
        return (self.custom.options or []) if self.custom else []


def system_ref(key: str) -> FieldRef:
    label, _max = SYSTEM_FIELDS[key]
    return FieldRef(f"system:{key}", str(label), "text")


def custom_ref(field: CustomField) -> FieldRef:
    return FieldRef(f"custom:{field.id}", field.label, field.field_type, field)


def resolve(ref: str | None) -> FieldRef | None:
    """The field a reference names, or None (unknown, or a custom field that was deleted)."""
    kind, _sep, key = (ref or "").partition(":")
    if kind == "system" and key in SYSTEM_FIELDS:
        return system_ref(key)
    # record_id_or_none: an id past the column's range names nothing (SQLite would raise OverflowError).
    field_id = record_id_or_none(key) if kind == "custom" else None
    if field_id:
        field = db.session.get(CustomField, field_id)
        return custom_ref(field) if field else None
    return None


def ref_of_key(key: str) -> str | None:
    """The reference of the field the API names by key: a system field's key, else a custom field's key."""
    if key in SYSTEM_FIELDS:
        return f"system:{key}"
    if "\x00" in key:  # names no field, and PostgreSQL would refuse to compare it
        return None
    field_id = db.session.execute(select(CustomField.id).where(CustomField.key == key)).scalar_one_or_none()
    return f"custom:{field_id}" if field_id else None


def field_by_key(opp: Opportunity, key: str) -> FieldRef | None:
    """The field of the opportunity the API names by key; None when it has no such field."""
    ref = ref_of_key(key)
    try:
        return field_of(opp, ref) if ref else None
    except ServiceError:
        return None


def key_of(field: FieldRef) -> str:
    """The key the API names a field by: the custom field's key or the system field's."""
    return field.custom.key if field.custom else field.system_key


def option_label(option: dict) -> str:
    from models.base import translated

    return translated(option.get("name") or option.get("key", ""), option.get("name_i18n"))


# --- reading what people type -------------------------------------------------------------------------------

def parse(field: FieldRef, raw) -> object:
    """The typed value of what was typed or chosen (None: empty), or InputRefused with the reason."""
    if isinstance(raw, list | tuple):
        raw = [str(r).strip() for r in raw if str(r).strip()]
    else:
        raw = str(raw if raw is not None else "").strip()
    if not raw:
        return None
    kind = field.field_type
    if kind in ("text", "long_text"):
        text = raw if isinstance(raw, str) else " ".join(raw)
        limit = SYSTEM_FIELDS[field.system_key][1] if field.system_key else (
            TEXT_MAX if kind == "text" else LONG_TEXT_MAX)
        if len(text) > limit:
            raise InputRefused(_("At most %(max)d characters.", max=limit))
        return text
    if kind in ("number", "amount"):
        value = parse_number(raw if isinstance(raw, str) else raw[0], places=2 if kind == "amount" else 4)
        if abs(value) > NUMBER_MAX:
            raise InputRefused(_("The number is too large."))
        return value
    if kind == "date":
        return parse_date(raw if isinstance(raw, str) else raw[0])
    if kind == "yes_no":
        answer = raw if isinstance(raw, str) else raw[0]
        if answer not in ("yes", "no"):
            raise InputRefused(_("Choose yes or no."))
        return answer == "yes"
    keys = [o["key"] for o in field.options]
    chosen = [raw] if isinstance(raw, str) else list(raw)
    if any(c not in keys for c in chosen) or (kind == "choice" and len(chosen) > 1):
        raise InputRefused(_("Choose from the list."))
    return chosen[0] if kind == "choice" else [k for k in keys if k in chosen]


CANONICAL_NUMBER = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,8})?")


def parse_canonical(field: FieldRef, raw) -> object:
    """The typed value of a canonical JSON value (the API's path; None or "" or []: empty): text as a string,
    numbers as JSON numbers or decimal strings with ".", dates ISO yyyy-mm-dd, yes/no as true/false, a choice's
    option key, a multiple choice's list of keys; else InputRefused with the reason in the request's language."""
    if raw is None or raw == "" or raw == []:
        return None
    kind = field.field_type
    if kind in ("text", "long_text"):
        if not isinstance(raw, str):
            raise InputRefused(_("Not a valid string."))
        if "\x00" in raw:  # no text column takes NUL (PostgreSQL would raise)
            raise InputRefused(_("Text cannot contain NUL characters."))
        return parse(field, raw)
    if kind in ("number", "amount"):
        places = 2 if kind == "amount" else 4
        text = str(raw) if isinstance(raw, int | float | str) and not isinstance(raw, bool) else ""
        if not CANONICAL_NUMBER.fullmatch(text.strip()):
            raise InputRefused(_("Write a number such as %(grouped)s or %(plain)s.", grouped="9800.50", plain="9800"))
        value = Decimal(text.strip())
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise InputRefused(ngettext("Use at most %(num)d decimal place, e.g. %(example)s.",
                                        "Use at most %(num)d decimal places, e.g. %(example)s.",
                                        places, example="9800.50"))
        if abs(value) > NUMBER_MAX:
            raise InputRefused(_("The number is too large."))
        return value.quantize(Decimal(1).scaleb(-places))
    if kind == "date":
        try:
            if not isinstance(raw, str) or len(raw) != 10:
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError:
            raise InputRefused(_("Invalid date: use the format %(format)s.", format="YYYY-MM-DD")) from None
    if kind == "yes_no":
        if not isinstance(raw, bool):
            raise InputRefused(_("Choose yes or no."))
        return raw
    keys = [o["key"] for o in field.options]
    if kind == "multi_choice":
        chosen = raw if isinstance(raw, list) else None
    else:
        chosen = [raw] if isinstance(raw, str) else None
    if chosen is None or any(not isinstance(c, str) or c not in keys for c in chosen):
        raise InputRefused(_("Choose from the list."))
    return chosen[0] if kind == "choice" else [k for k in keys if k in chosen]


def to_canonical(value):
    """A typed value as the API writes it: decimals as strings with ".", dates ISO, lists and flags as is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def display(field: FieldRef, value) -> str:
    """A typed value as the page shows it, in the page's language ('' when empty)."""
    if value is None or value == []:
        return ""
    kind = field.field_type
    if kind == "amount":
        return format_number(value, 2)
    if kind == "number":
        return format_number(value.normalize() if isinstance(value, Decimal) else value, None)
    if kind == "date":
        return format_date_input(value)
    if kind == "yes_no":
        return _("Yes") if value else _("No")
    if kind in CHOICE_TYPES:
        names = {o["key"]: option_label(o) for o in field.options}
        keys = [value] if isinstance(value, str) else value
        return ", ".join(names.get(k, k) for k in keys)
    return str(value)


# --- stored values ------------------------------------------------------------------------------------------

def _from_row(field: FieldRef, row: FieldValue | None):
    if row is None:
        return None
    kind = field.field_type
    if kind == "long_text":
        return row.long_text
    if kind in ("number", "amount"):
        return row.number
    if kind == "date":
        return row.day
    if kind == "yes_no":
        return row.flag
    if kind == "multi_choice":
        return [k for k in (row.text or "").split("|") if k]
    return row.text


def typed_value(field: FieldRef, row: FieldValue | None):
    """The typed value a stored row holds for the field (None: no row), for lists that load many rows at once."""
    return _from_row(field, row)


def _fill_row(row: FieldValue, field: FieldRef, value) -> None:
    row.text = row.long_text = row.number = row.day = row.flag = None
    kind = field.field_type
    if kind == "long_text":
        row.long_text = value
    elif kind in ("number", "amount"):
        row.number = value
    elif kind == "date":
        row.day = value
    elif kind == "yes_no":
        row.flag = value
    elif kind == "multi_choice":
        row.text = "|" + "|".join(value) + "|"  # "|a|b|": LIKE '%|a|%' finds one option
    else:
        row.text = value


def current(opp: Opportunity, field: FieldRef):
    """The field's typed value on the opportunity (None: empty)."""
    if field.system_key:
        return getattr(opp, field.system_key) or None
    row = db.session.execute(select(FieldValue).where(
        FieldValue.opportunity_id == opp.id, FieldValue.field_id == field.custom.id)).scalar_one_or_none()
    return _from_row(field, row)


def values_of(opp: Opportunity, fields: list[FieldRef]) -> dict[str, object]:
    """Every listed field's typed value on the opportunity, by reference, in one query."""
    rows = {r.field_id: r for r in db.session.execute(
        select(FieldValue).where(FieldValue.opportunity_id == opp.id)).scalars()} \
        if any(not f.system_key for f in fields) else {}  # system fields are the opportunity's own columns
    return {f.ref: (getattr(opp, f.system_key) or None) if f.system_key
            else _from_row(f, rows.get(f.custom.id)) for f in fields}


def is_filled(value) -> bool:
    return value is not None and value != [] and value != ""


def store(opp: Opportunity, field: FieldRef, value, user: User | None, *, chain: Chain | None = None,
          closing_substate_id: int | None = None) -> bool:
    """Save a typed value (None empties it) and announce the change in the caller's transaction; returns
    whether anything changed. `closing_substate_id`: the value was asked for to close that substate."""
    old = current(opp, field)
    if old == value or (not is_filled(old) and not is_filled(value)):
        return False
    now = utcnow()
    if field.system_key:
        setattr(opp, field.system_key, value)
    elif value is None:
        db.session.execute(delete(FieldValue).where(FieldValue.opportunity_id == opp.id,
                                                    FieldValue.field_id == field.custom.id))
    else:
        row = db.session.execute(select(FieldValue).where(
            FieldValue.opportunity_id == opp.id, FieldValue.field_id == field.custom.id)).scalar_one_or_none()
        if row is None:
            row = FieldValue(opportunity_id=opp.id, field_id=field.custom.id)
            db.session.add(row)
        _fill_row(row, field, value)
        row.updated_at, row.updated_by_id = now, user.id if user else None
    db.session.flush()
    events.field_changed.send(opp, change=FieldChange(
        opp, field.ref, is_filled(old), is_filled(value), display(field, value), now, user, chain or Chain(),
        closing_substate_id))
    return True


def set_value(opp: Opportunity, ref: str, raw, user: User | None, *, chain: Chain | None = None,
              canonical: bool = False) -> object:
    """Read what was typed for one field of the opportunity and save it (the page's inline edit, imports,
    the API): 404 for a field that is not the opportunity's, 422 with the reason for a refused value.
    `canonical`: `raw` is a JSON value (parse_canonical, the API), not text in the page's language."""
    field = field_of(opp, ref)
    try:
        value = (parse_canonical if canonical else parse)(field, raw)
    except InputRefused as err:
        raise InvalidData({ref: err.message}) from None
    if value is None and field.custom is not None and field.custom.required:
        raise InvalidData({ref: _("“%(name)s” is required.", name=field.label)})
    store(opp, field, value, user, chain=chain)
    return value


def field_of(opp: Opportunity, ref: str) -> FieldRef:
    """A field the opportunity has: a system field, or a live custom field of its type."""
    field = resolve(ref)
    if field is None or (field.custom is not None and (field.custom.archived or not field.custom.applies_to(opp.type_id))):
        raise ServiceError(_("This field does not exist on this opportunity."), 404)
    return field


# --- template helpers (registered as Jinja globals by create_app) ---------------------------------------------

def input_text(field: FieldRef, value) -> str:
    """What an input shows: a typed value in the page's language, or text typed back as it was."""
    if isinstance(value, str) and field.field_type in ("number", "amount", "date"):
        return value
    return display(field, value) if value is not None else ""


def max_length(field: FieldRef) -> int:
    return SYSTEM_FIELDS[field.system_key][1] if field.system_key else TEXT_MAX
