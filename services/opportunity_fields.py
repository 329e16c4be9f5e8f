"""Custom fields and the system fields (company name, contact person, acquisition source) in the opportunity
list (S11): which fields it offers, their filters read from the URL in the page's language, the conditions
that find them through field_value's (field_id, text|number|day, opportunity_id) indexes, and the values of
the columns a user chose for one page of rows, in one query.

In the URL a field is named `cf_<key>` (a custom field) or `sf_<key>` (a system field), so a custom field's
key never collides with a system field's: `cf_region=north`, `cf_budget_from=9800,50`, `cols=cf_region`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Boolean, ColumnElement, and_, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.functions import FunctionElement

from extensions import db
from models import CustomField, FieldValue, Opportunity
from services import field_values as fv
from services.locale_input import InputRefused, parse_date, parse_number

RANGE_TYPES = ("number", "amount", "date")


class _holds(FunctionElement):
    """`text` holds `part` as it is (no pattern): a substring search, twice as fast as LIKE '%…%' on SQLite
    (instr) and without LIKE's wildcards to escape; PostgreSQL strpos, LIKE elsewhere."""

    type = Boolean()
    inherit_cache = True


@compiles(_holds)
def _holds_like(element, compiler, **kw):
    text, part = element.clauses
    return f"({compiler.process(text, **kw)} LIKE '%%' || {compiler.process(part, **kw)} || '%%')"


@compiles(_holds, "sqlite")
def _holds_sqlite(element, compiler, **kw):
    return f"(instr({compiler.process(element.clauses, **kw)}) > 0)"


@compiles(_holds, "postgresql")
def _holds_postgresql(element, compiler, **kw):
    return f"(strpos({compiler.process(element.clauses, **kw)}) > 0)"
MAX_TEXT = 100  # a filter's text, as the search box's


@dataclass(frozen=True)
class ListField:
    """A field the list can filter on and show: `name` is its URL name (cf_<key>, sf_<key>)."""

    name: str
    ref: fv.FieldRef

    @property
    def label(self) -> str:
        return self.ref.label

    @property
    def field_type(self) -> str:
        return self.ref.field_type

    @property
    def options(self) -> list[dict]:
        return self.ref.options

    @property
    def is_range(self) -> bool:
        return self.field_type in RANGE_TYPES


def list_fields(type_id: int | None = None) -> list[ListField]:
    """The system fields, then the live custom fields that apply to the type (every type when None)."""
    fields = [ListField(f"sf_{key}", fv.system_ref(key)) for key in fv.SYSTEM_FIELDS]
    customs = db.session.execute(
        select(CustomField).where(CustomField.archived.is_(False)).options(selectinload(CustomField.types))
        .order_by(CustomField.position, CustomField.id)).scalars()
    fields += [ListField(f"cf_{c.key}", fv.custom_ref(c)) for c in customs if type_id is None or c.applies_to(type_id)]
    return fields


@dataclass
class FieldFilter:
    """One field's filter as read: `value` (contains, equals, has, yes/no) or `low`/`high` (a range)."""

    field: ListField
    value: object = None
    low: object = None
    high: object = None


@dataclass
class ReadFilters:
    """The field filters given, and a message per URL argument that was refused (those make the page a 422)."""

    filters: list[FieldFilter] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _bound(f: ListField, raw: str):
    if f.field_type == "date":
        return parse_date(raw)
    return parse_number(raw)


def _value(f: ListField, raw: str):
    kind = f.field_type
    if kind in ("text", "long_text"):
        if len(raw) > MAX_TEXT:
            raise InputRefused(_("At most %(max)d characters.", max=MAX_TEXT))
        return raw
    if kind == "yes_no":
        if raw not in ("yes", "no"):
            raise InputRefused(_("Choose yes or no."))
        return raw == "yes"
    if raw not in [o["key"] for o in f.options]:
        raise InputRefused(_("Choose from the list."))
    return raw


def read_filters(args, fields: list[ListField]) -> ReadFilters:
    """Every offered field's filter in `args` (a URL's query), read in the page's language; fields not
    offered (archived, or not of the chosen type) are left out, as the filter box does not show them."""
    out = ReadFilters()
    for f in fields:
        found = FieldFilter(f)
        names = (f"{f.name}_from", f"{f.name}_to") if f.is_range else (f.name,)
        for name in names:
            raw = (args.get(name) or "").strip()
            if not raw:
                continue
            try:
                if name.endswith("_from") and f.is_range:
                    found.low = _bound(f, raw)
                elif f.is_range:
                    found.high = _bound(f, raw)
                else:
                    found.value = _value(f, raw)
            except InputRefused as err:
                out.errors[name] = f"{f.label}: {err.message}"
        if found.low is not None and found.high is not None and found.low > found.high:
            out.errors[f"{f.name}_to"] = _("%(field)s: the end of the range is before its start.", field=f.label)
        if (found.value is not None or found.low is not None or found.high is not None) and \
                not any(n in out.errors for n in names):
            out.filters.append(found)
    return out


def condition(flt: FieldFilter) -> ColumnElement[bool]:
    """The filter as a condition on Opportunity: on a column of its own, or a correlated EXISTS on field_value
    (one probe of its (opportunity_id, field_id) key per row: the page walks opportunities newest first and
    stops at a page; a count checks the rows its narrowest filter found, services.opportunities)."""
    ref = flt.field.ref
    if ref.system_key:
        column = getattr(Opportunity, ref.system_key)
        return func.lower(column).contains(str(flt.value).lower(), autoescape=True)
    return exists().where(FieldValue.opportunity_id == Opportunity.id, FieldValue.field_id == ref.custom.id,
                          *_value_conditions(FieldValue, ref.field_type, flt))


PROBE = 2_000


def _size(flt: FieldFilter) -> int:
    """How many field values the filter matches, counted up to PROBE on its own index range (a few ms)."""
    ref = flt.field.ref
    matching = select(FieldValue.id).where(FieldValue.field_id == ref.custom.id,
                                           *_value_conditions(FieldValue, ref.field_type, flt)).limit(PROBE)
    return db.session.execute(select(func.count()).select_from(matching.subquery())).scalar_one()


def counting_start(filters: list[FieldFilter]) -> FieldFilter | None:
    """The custom-field filter to drive a count from (see join_start): the one matching fewest values, so the
    others are checked on as few rows as possible; None without one. Two filters of the same field type
    can differ a hundredfold (an amount over 49,000 against a common option): their sizes are probed."""
    customs = [f for f in filters if f.field.ref.custom is not None]
    if len(customs) < 2:
        return customs[0] if customs else None
    return min(customs, key=_size)


def join_start(stmt, flt: FieldFilter):
    """`stmt` over Opportunity joined to the filter's matching field values: a count then reads that field's
    index range and stops at its cap, instead of building every filter's whole set of ids (an
    (opportunity_id, field_id) pair is unique: the join adds no row)."""
    value = aliased(FieldValue)
    return stmt.join(value, and_(value.opportunity_id == Opportunity.id, value.field_id == flt.field.ref.custom.id,
                                 *_value_conditions(value, flt.field.field_type, flt)))


def _value_conditions(table, kind: str, flt: FieldFilter) -> list[ColumnElement[bool]]:
    if kind in ("text", "long_text"):
        column = table.text if kind == "text" else table.long_text
        return [func.lower(column).contains(str(flt.value).lower(), autoescape=True)]
    if kind == "choice":
        return [table.text == flt.value]
    if kind == "multi_choice":
        return [_holds(table.text, f"|{flt.value}|")]  # stored as "|a|b|"
    if kind == "yes_no":
        return [table.flag.is_(bool(flt.value))]
    column = table.day if kind == "date" else table.number
    return [c for c in (column >= flt.low if flt.low is not None else None,
                        column <= flt.high if flt.high is not None else None) if c is not None]


# --- columns ---------------------------------------------------------------------------------------------

def chosen_columns(args, fields: list[ListField]) -> list[ListField]:
    """The extra columns named by `cols` (repeated, or comma-separated), in the fields' order; unknown
    names are left out."""
    names = {n.strip() for raw in args.getlist("cols") for n in raw.split(",") if n.strip()}
    return [f for f in fields if f.name in names]


def column_values(opps: list[Opportunity], columns: list[ListField]) -> dict[int, dict[str, str]]:
    """{opportunity id: {column name: value as the page's language shows it}} for the page's rows; the custom
    fields' values in one query, whatever the number of rows and columns."""
    out: dict[int, dict[str, str]] = {o.id: {} for o in opps}
    customs = {c.ref.custom.id: c for c in columns if c.ref.custom is not None}
    rows = {}
    if customs and opps:
        rows = {(r.opportunity_id, r.field_id): r for r in db.session.execute(
            select(FieldValue).where(FieldValue.opportunity_id.in_(list(out)), FieldValue.field_id.in_(list(customs)))
        ).scalars()}
    for o in opps:
        for c in columns:
            if c.ref.system_key:
                out[o.id][c.name] = getattr(o, c.ref.system_key) or ""
            else:
                value = fv.typed_value(c.ref, rows.get((o.id, c.ref.custom.id)))
                out[o.id][c.name] = fv.display(c.ref, value)
    return out


def is_numeric(f: ListField) -> bool:
    return f.field_type in ("number", "amount")

