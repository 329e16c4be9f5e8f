"""Importing opportunities from a table (services.import_files): each row creates an opportunity, or updates
the one its `id` names when the importing user may see it. Rows are read in the importing user's language
(numbers, dates, yes/no, choice names) and checked first (`plan`: every error per row and column, nothing
written); `apply` then saves every row through the opportunity and field-value services, in the caller's
transaction, so each field it fills is announced as the page's inline edit announces it and process
automations close their substates whatever path filled the field.

On an update an empty cell leaves the current value as it is: an import fills, it never empties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models import Channel, Customer, CustomField, Opportunity, OpportunityType, User
from models.fields import CHOICE_TYPES
from services import ServiceError
from services import field_values as fv
from services import opportunities as opp_svc
from services.access import visible_opportunities
from services.import_files import Table
from services.locale_input import InputRefused, format_date_input, format_number, parse_number
from services.validation import record_id_or_none

# The opportunity's own columns: key -> (English label, label, the longest text it takes or None). A header names a
# column by its key, its English label or its label in the user's language, in any case.
STANDARD = {
    "id": ("ID", _l("ID"), None),
    "name": ("Name", _l("Name"), 160),
    "type": ("Opportunity type", _l("Opportunity type"), None),
    "channel": ("Channel", _l("Channel"), None),
    "customer": ("Customer", _l("Customer"), None),
    "amount": ("Amount", _l("Amount"), None),
    "owner": ("Responsible user", _l("Responsible user"), None),
    "postal_code": ("Postal code", _l("Postal code"), 10),
    "province": ("Province", _l("Province"), 60),
    "notes": ("Notes", _l("Notes"), 5000),
    "company_name": ("Company name", _l("Company name"), None),
    "contact_person": ("Contact person", _l("Contact person"), None),
    "acquisition_source": ("Acquisition source", _l("Acquisition source"), None),
}
ALIASES = {"type_id": "type", "channel_id": "channel", "customer_id": "customer", "owner_id": "owner",
           "owner_email": "owner"}
REQUIRED_TO_CREATE = ("name", "type", "channel", "customer")
AMOUNT_MAX = Decimal("9999999999")


def _norm(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", (text or "").strip().lower())


def column_label(key: str) -> str:
    return str(STANDARD[key][1])


@dataclass
class Column:
    header: str
    key: str | None = None  # a STANDARD key
    custom: CustomField | None = None

    @property
    def name(self) -> str:
        return self.key or f"custom:{self.custom.id}"


@dataclass
class RowPlan:
    number: int  # the row's line in the file (the header is line 1)
    opp: Opportunity | None = None  # the opportunity it updates; None: it creates one
    data: dict = field(default_factory=dict)  # the opportunity service's keys
    custom: list = field(default_factory=list)  # [(FieldRef, typed value)]
    shown: dict = field(default_factory=dict)  # column name -> what the preview shows
    errors: dict = field(default_factory=dict)  # column name ("" for the row) -> message


@dataclass
class Plan:
    columns: list[Column]
    rows: list[RowPlan]
    errors: list[str]  # about the file as a whole

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.errors for r in self.rows) and bool(self.rows)

    @property
    def used_columns(self) -> list[Column]:
        return [c for c in self.columns if c.key or c.custom]

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def creates(self) -> int:
        return sum(1 for r in self.rows if r.opp is None)

    @property
    def updates(self) -> int:
        return len(self.rows) - self.creates


def map_columns(header: list[str]) -> tuple[list[Column], list[str]]:
    """The column each header names, and a message per header that names none or names one twice."""
    names: dict[str, str] = {}
    for key, (english, label, _max) in STANDARD.items():
        for alias in (key, english, str(label)):
            names.setdefault(_norm(alias), key)
    for alias, key in ALIASES.items():
        names.setdefault(alias, key)
    names.setdefault(_norm(_("Type")), "type")  # the list's own column heading
    fields = db.session.execute(select(CustomField).where(CustomField.archived.is_(False))).scalars().all()
    by_name: dict[str, CustomField] = {}
    for custom in fields:
        for alias in (custom.key, custom.label, custom.name):
            by_name.setdefault(_norm(alias), custom)
    columns, errors, seen = [], [], set()
    for text in header:
        norm = _norm(text)
        column = (Column(text, key=names[norm]) if norm in names
                  else Column(text, custom=by_name[norm]) if norm in by_name else None)
        if column is None:
            errors.append(_("Unknown column “%(name)s”: use a field of opportunities or a custom field's key.",
                            name=text[:60]))
        elif column.name in seen:
            errors.append(_("The column “%(name)s” appears twice.", name=text[:60]))
        else:
            seen.add(column.name)
            columns.append(column)
            continue
        columns.append(Column(text))  # kept so row cells stay aligned; ignored
    return columns, errors


class _Lookups:
    """Records rows name, each looked up once per import."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.types = db.session.execute(select(OpportunityType)).scalars().all()
        self.channels = db.session.execute(select(Channel)).scalars().all()
        self.customers: dict[str, list[Customer]] = {}
        self.owners: dict[str, User | None] = {}

    @staticmethod
    def _by_name(rows, text: str) -> list:
        wanted = text.strip().casefold()
        found = [r for r in rows if str(r.id) == text.strip()]
        return found or [r for r in rows if wanted in {n.casefold() for n in
                                                       [r.name, *(r.name_i18n or {}).values()] if n}]

    def type(self, text: str) -> list[OpportunityType]:
        return self._by_name(self.types, text)

    def channel(self, text: str) -> list[Channel]:
        return self._by_name(self.channels, text)

    def customer(self, text: str) -> list[Customer]:
        if text not in self.customers:
            found = []
            if (cid := record_id_or_none(text)) and (row := db.session.get(Customer, cid)):
                found = [row]
            if not found:
                found = db.session.execute(select(Customer).where(
                    func.lower(Customer.name) == text.strip().lower()).limit(2)).scalars().all()
            self.customers[text] = list(found)
        return self.customers[text]

    def owner(self, text: str) -> User | None:
        if text not in self.owners:
            self.owners[text] = db.session.execute(select(User).where(
                func.lower(User.email) == text.strip().lower(), User.role != "partner",
                User.active.is_(True))).scalar_one_or_none()
        return self.owners[text]


def plan(table: Table, user: User) -> Plan:
    """What importing the table would do, row by row, with every error; nothing is written."""
    columns, errors = map_columns(table.header)
    lookups, targets = _Lookups(user), {}
    rows = []
    for index, cells in enumerate(table.rows):
        row = RowPlan(number=index + 2)
        values = {c.name: v for c, v in zip(columns, cells, strict=False) if c.key or c.custom}
        _plan_row(row, values, columns, lookups)
        if row.opp is not None:
            if row.opp.id in targets:
                row.errors["id"] = _("Row %(row)d updates this opportunity already.", row=targets[row.opp.id])
            targets.setdefault(row.opp.id, row.number)
        rows.append(row)
    return Plan(columns, rows, errors)


def _text(value) -> str:
    """A cell as text: typed XLSX cells as the user's language writes them (a whole number without ".0")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return format_date_input(value.date())
    if isinstance(value, date):
        return format_date_input(value)
    return str(value).strip()


def _number(value, places: int) -> Decimal:
    """A number cell: typed XLSX numbers as they are (a double's noise past `places` rounded), text as the
    user's language writes numbers."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = Decimal(repr(value) if isinstance(value, float) else value)
        if not number.is_finite():
            return parse_number("NaN", places=places)  # refused with the page's own "write a number" message
        try:
            return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        except ArithmeticError:
            raise InputRefused(_("The number is too large.")) from None
    return parse_number(_text(value), places=places)


def _plan_row(row: RowPlan, values: dict, columns: list[Column], lookups: _Lookups) -> None:
    text = {k: _text(v) for k, v in values.items()}
    if text.get("id"):
        opp_id = record_id_or_none(text["id"])
        row.opp = db.session.execute(visible_opportunities(lookups.user).where(Opportunity.id == opp_id)
                                     ).scalar_one_or_none() if opp_id else None
        if row.opp is None:
            row.errors["id"] = _("No opportunity with this ID that you may see.")
            return
    _reference(row, "type", text, lookups.type, _("No opportunity type has this name or ID."))
    _reference(row, "channel", text, lookups.channel, _("No channel has this name or ID."))
    _reference(row, "customer", text, lookups.customer, _("No customer has this name or ID."))
    _check_live(row)
    if text.get("owner"):
        owner = lookups.owner(text["owner"])
        if owner is None:
            row.errors["owner"] = _("No active internal user has this email.")
        else:
            row.data["owner_id"], row.shown["owner"] = owner.id, owner.name
    if text.get("amount"):
        try:
            amount = _number(values["amount"], 2)
            if amount < 0:
                raise InputRefused(_("The amount cannot be negative."))
            if amount > AMOUNT_MAX:
                raise InputRefused(_("The number is too large."))
            row.data["amount"], row.shown["amount"] = amount, format_number(amount, 2)
        except InputRefused as err:
            row.errors["amount"] = err.message
    for key in ("name", "postal_code", "province", "notes"):
        if text.get(key):
            limit = STANDARD[key][2]
            if len(text[key]) > limit:
                row.errors[key] = _("At most %(max)d characters.", max=limit)
            row.data[key] = row.shown[key] = text[key]
    for key in fv.SYSTEM_FIELDS:
        if text.get(key):
            try:
                row.data[key] = row.shown[key] = fv.parse(fv.system_ref(key), text[key])
            except InputRefused as err:
                row.errors[key] = err.message
    if row.opp is None:
        missing = [column_label(k) for k in REQUIRED_TO_CREATE if not text.get(k)]
        if missing:
            row.errors[""] = _("A new opportunity needs: %(columns)s.", columns=", ".join(missing))
    type_id = row.data.get("type_id") or (row.opp.type_id if row.opp else None)
    for column in columns:
        if column.custom is not None and text.get(column.name):
            _custom(row, column, values[column.name], type_id)


def _reference(row: RowPlan, key: str, text: dict, find, not_found: str) -> None:
    if not text.get(key):
        return
    found = find(text[key])
    if not found:
        row.errors[key] = not_found
    elif len(found) > 1:
        row.errors[key] = _("Several records have this name: write the ID instead.")
    else:
        row.data[f"{key}_id"] = found[0].id
        row.shown[key] = getattr(found[0], "label", None) or found[0].name


def _check_live(row: RowPlan) -> None:
    """A new opportunity takes no archived type nor deactivated channel (an update may keep its own)."""
    current = row.opp
    if "type_id" in row.data:
        kind = db.session.get(OpportunityType, row.data["type_id"])
        if kind.archived and (current is None or current.type_id != kind.id):
            row.errors["type"] = _("This opportunity type is archived.")
        elif current is not None and current.type_id != kind.id and current.substates:
            row.errors["type"] = _("The type cannot change once the flow has started on this opportunity.")
    if "channel_id" in row.data:
        channel = db.session.get(Channel, row.data["channel_id"])
        if not channel.active and (current is None or current.channel_id != channel.id):
            row.errors["channel"] = _("This channel is deactivated; choose another one.")


def _custom(row: RowPlan, column: Column, raw, type_id: int | None) -> None:
    custom = column.custom
    if type_id is not None and not custom.applies_to(type_id):
        row.errors[column.name] = _("This field does not exist on this opportunity.")
        return
    ref = fv.custom_ref(custom)
    try:
        value = _custom_value(ref, raw)
    except InputRefused as err:
        row.errors[column.name] = err.message
        return
    row.custom.append((ref, value))
    row.shown[column.name] = fv.display(ref, value)


def _custom_value(ref: fv.FieldRef, raw):
    """The typed value of a custom field's cell: typed XLSX cells taken as they are, text read as typed on
    the page (yes/no and choices by their names in the user's language too)."""
    kind = ref.field_type
    if kind in ("number", "amount"):
        value = _number(raw, 2 if kind == "amount" else 4)
        if abs(value) > fv.NUMBER_MAX:
            raise InputRefused(_("The number is too large."))
        return value
    if kind == "date" and isinstance(raw, date):
        return raw.date() if isinstance(raw, datetime) else raw
    text = _text(raw)
    if kind == "yes_no":
        words = {"yes": "yes", "true": "yes", "1": "yes", _("Yes").casefold(): "yes",
                 "no": "no", "false": "no", "0": "no", _("No").casefold(): "no"}
        text = words.get(text.casefold(), text)
    elif kind in CHOICE_TYPES:
        keys = {fv.option_label(o).casefold(): o["key"] for o in ref.options}
        keys.update({o["key"].casefold(): o["key"] for o in ref.options})
        parts = [p.strip() for p in re.split(r"[;,|]", text)] if kind == "multi_choice" else [text]
        chosen = [keys.get(p.casefold(), p) for p in parts if p]
        return fv.parse(ref, chosen if kind == "multi_choice" else chosen[0])
    return fv.parse(ref, text)


def apply(plan_: Plan, user: User) -> list[Opportunity]:
    """Save every row (a plan without errors) in the caller's transaction; ServiceError names what refused."""
    saved = []
    for row in plan_.rows:
        try:
            saved.append(_apply_row(row, user))
        except ServiceError as err:
            raise ServiceError(_("Row %(row)d: %(message)s", row=row.number, message=err.message), 422) from None
    return saved


def _apply_row(row: RowPlan, user: User) -> Opportunity:
    if row.opp is None:
        opp = opp_svc.create_opportunity(dict(row.data), user)
    else:
        data = {k: getattr(row.opp, k) for k in opp_svc.FIELDS}
        data.update(row.data)
        opp = opp_svc.update_opportunity(row.opp, data, user)
    for ref, value in row.custom:
        fv.store(opp, ref, value, user)
    return opp
