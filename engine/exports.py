"""Export files (SPEC A9): the chosen columns of opportunities as CSV or XLSX.

Which rows: the opportunities of the run's opportunity type that the recipient may see — for an installer
or commercial company only those assigned to it (as its users would see them, docs/email.md), for the
client only the run's own opportunity, for the internal owner every one of the type — newest first, at
most EXPORT_MAX_ROWS. Headers and values are written in the recipient's language.
"""

from __future__ import annotations

import csv
import io

from flask import current_app
from flask_babel import force_locale, format_currency, format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from models import Opportunity

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
    "created": (_l("Created"), lambda o: o.created_at),
}


def column_choices() -> list[tuple[str, str]]:
    return [(key, str(header)) for key, (header, _get) in COLUMNS.items()]


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
    keys = [k for k in columns if k in COLUMNS] or list(COLUMNS)
    with force_locale(lang):
        header = [str(COLUMNS[k][0]) for k in keys]
        rows = [[COLUMNS[k][1](o) for k in keys] for o in opps]
        if file_format == "xlsx":
            return _xlsx(header, rows)
        return _csv(header, [[_text(k, v) for k, v in zip(keys, row, strict=True)] for row in rows])


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
