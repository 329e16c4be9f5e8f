"""Export files (SPEC A9): the chosen columns of opportunities as CSV or XLSX.

Which rows: the opportunities of the run's opportunity type that the recipient may see — for an installer
or commercial company only those assigned to it (as its users would see them, docs/email.md), for the
client only the run's own opportunity, for the internal owner every one of the type — newest first, at
most EXPORT_MAX_ROWS. Headers and values are written in the recipient's language.

Columns are the fixed ones below (the system fields company name, contact person and acquisition source
among them) and the custom fields, named "field:<key>": in CSV as the recipient's language shows them, in
XLSX typed (numbers and amounts as numbers, dates as dates, yes/no as true/false), choices by their names.
"""

from __future__ import annotations

import csv
import io

from flask import current_app
from flask_babel import force_locale, format_currency, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from models import CustomField, FieldValue, Opportunity
from services import field_values as fv

FORMATS = {"csv": ("csv", "text/csv"),
           "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


def _state(o) -> str:
    return ", ".join(sorted(s.state.label for s in _open(o)))


def _substates(o) -> str:
    return ", ".join(sorted(s.label for s in _open(o)))


def _open(o):
    return [row.substate for row in o.substates if row.status == "open"]


# key: (header, value) — the fixed list an export template chooses from, in this order by default.
COLUMNS = {
    "id": (_l("Number"), lambda o: o.id),
    "name": (_l("Opportunity"), lambda o: o.name),
    "customer": (_l("Client"), lambda o: o.customer.name),
    "email": (_l("Client email"), lambda o: o.customer.email or ""),
    "phone": (_l("Client phone"), lambda o: o.customer.phone or ""),
    "type": (_l("Type"), lambda o: o.type.label),
    "channel": (_l("Channel"), lambda o: o.channel.name),
    "state": (_l("State"), _state),
    "substates": (_l("Open substates"), _substates),
    "amount": (_l("Amount"), lambda o: o.amount),
    "province": (_l("Province"), lambda o: o.province or ""),
    "postal_code": (_l("Postal code"), lambda o: o.postal_code or ""),
    "installer": (_l("Installer"), lambda o: o.installer.name if o.installer else ""),
    "commercial": (_l("Commercial"), lambda o: o.commercial.name if o.commercial else ""),
    "owner": (_l("Internal owner"), lambda o: o.owner.name if o.owner else ""),
    "company_name": (_l("Company name"), lambda o: o.company_name or ""),
    "contact_person": (_l("Contact person"), lambda o: o.contact_person or ""),
    "acquisition_source": (_l("Acquisition source"), lambda o: o.acquisition_source or ""),
    "created": (_l("Created"), lambda o: o.created_at),
}


FIELD_PREFIX = "field:"


def column_choices() -> list[tuple[str, str]]:
    """(key, header) of every column a template may choose: the fixed ones, then the live custom fields."""
    from engine.field_placeholders import live_fields

    return [(key, str(header)) for key, (header, _get) in COLUMNS.items()] + \
        [(FIELD_PREFIX + f.key, f.label) for f in live_fields()]


def _custom_fields(keys: list[str]) -> dict[str, fv.FieldRef]:
    """The custom fields the columns name, by column key (a field deleted since is left out; an archived
    one keeps its values in the export)."""
    wanted = {k.removeprefix(FIELD_PREFIX): k for k in keys if k.startswith(FIELD_PREFIX)}
    if not wanted:
        return {}
    from extensions import db

    found = db.session.execute(select(CustomField).where(CustomField.key.in_(list(wanted)))).scalars()
    return {wanted[f.key]: fv.custom_ref(f) for f in found}


def _custom_values(opps, refs: dict[str, fv.FieldRef]) -> dict[tuple[int, int], object]:
    """{(opportunity id, field id): typed value} of the columns' custom fields, a query per thousand rows."""
    from extensions import db

    field_ids = [r.custom.id for r in refs.values()]
    by_id = {r.custom.id: r for r in refs.values()}
    ids, out = [o.id for o in opps], {}
    for i in range(0, len(ids) if field_ids else 0, 1000):
        for row in db.session.execute(select(FieldValue).where(
                FieldValue.opportunity_id.in_(ids[i:i + 1000]), FieldValue.field_id.in_(field_ids))).scalars():
            out[(row.opportunity_id, row.field_id)] = fv.typed_value(by_id[row.field_id], row)
    return out


def rows_for(opp, recipient) -> list[Opportunity]:
    """The opportunities an export for `recipient` holds (see the module's docstring)."""
    from extensions import db

    stmt = select(Opportunity).where(Opportunity.type_id == opp.type_id)
    if recipient.role == "client":
        stmt = stmt.where(Opportunity.id == opp.id)
    elif recipient.role in ("installer", "commercial"):
        company = opp.installer_id if recipient.role == "installer" else opp.commercial_id
        stmt = stmt.where(or_(Opportunity.installer_id == company, Opportunity.commercial_id == company))
    limit = current_app.config.get("EXPORT_MAX_ROWS", 10000)
    return list(db.session.execute(stmt.order_by(Opportunity.id.desc()).limit(limit)).scalars())


def build(columns: list[str], file_format: str, opps, lang: str) -> bytes:
    """The file's bytes: a header row, then one row per opportunity, in `lang`."""
    refs = _custom_fields(columns)
    keys = [k for k in columns if k in COLUMNS or k in refs] or list(COLUMNS)
    values = _custom_values(opps, refs)
    with force_locale(lang):
        header = [str(COLUMNS[k][0]) if k in COLUMNS else refs[k].custom.label for k in keys]
        rows = [[COLUMNS[k][1](o) if k in COLUMNS else values.get((o.id, refs[k].custom.id)) for k in keys]
                for o in opps]
        if file_format == "xlsx":
            return _xlsx(header, [[_typed(refs[k], v) if k in refs else v for k, v in zip(keys, row, strict=True)]
                                  for row in rows])
        return _csv(header, [[fv.display(refs[k], v) if k in refs else _text(k, v)
                              for k, v in zip(keys, row, strict=True)] for row in rows])


def _typed(ref: fv.FieldRef, value):
    """A custom field's cell in XLSX: numbers, dates and yes/no keep their type; text and choices as shown."""
    if value is None or ref.field_type in ("number", "amount", "date", "yes_no"):
        return value
    return fv.display(ref, value)


def _text(key: str, value) -> str:
    if key == "amount":
        return format_currency(value or 0, current_app.config["CURRENCY"])
    if key == "created":
        return format_datetime(value, "short") if value else ""
    return "" if value is None else str(value)


def _safe(value):
    """Spreadsheets run a cell starting with = + - @ as a formula: such text is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_safe(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


def _xlsx(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([float(v) if hasattr(v, "as_tuple") else _safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
