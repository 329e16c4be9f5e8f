"""Report templates (SPEC S3) and export templates (SPEC A9): saved only when they can be used.

A report's HTML and CSS are checked in the placeholder sandbox at save (422 with the line and reason),
so generating one never meets a broken template; the preview renders it as the PDF that would be sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from engine import exports, pdf, render
from extensions import db
from models import Action, ExportTemplate, ReportTemplate, StoredFile
from services import ServiceError
from services.validation import InvalidData, flush_unique, name_taken

MAX_HTML = 200_000


@dataclass
class ReportData:
    label: str
    html: str = ""
    css: str = ""
    paper_size: str = "A4"
    orientation: str = "portrait"


@dataclass
class ExportData:
    name: str
    columns: list[str] = field(default_factory=list)
    file_format: str = "csv"


def usage(key: str) -> dict[int, int]:
    """How many automatic actions use each record named by `key` in their config (e.g. report_template_id)."""
    counts: dict[int, int] = {}
    for config in db.session.execute(select(Action.config)).scalars():
        ref = (config or {}).get(key)
        if ref:
            counts[ref] = counts.get(ref, 0) + 1
    return counts


def list_reports() -> list[tuple[ReportTemplate, int]]:
    """Report templates by label, with how many automatic actions use each."""
    used = usage("report_template_id")
    rows = db.session.execute(select(ReportTemplate).order_by(ReportTemplate.label)).scalars()
    return [(t, used.get(t.id, 0)) for t in rows]


def check_report(template: ReportTemplate | None, data: ReportData) -> dict[str, str]:
    """Field messages for a report template that cannot be saved."""
    errors = {}
    label = data.label.strip()
    if not label:
        errors["label"] = _("Enter a label.")
    elif len(label) > 120:
        errors["label"] = _("At most %(max)d characters.", max=120)
    elif _taken(ReportTemplate, ReportTemplate.label, label, template):
        errors["label"] = _("Another report template already has this label.")
    if data.paper_size not in pdf.PAPER_SIZES:
        errors["paper_size"] = _("Choose a paper size.")
    if data.orientation not in pdf.ORIENTATIONS:
        errors["orientation"] = _("Choose an orientation.")
    if not data.html.strip():
        errors["html"] = _("Write the report's HTML.")
    for name, source in (("html", data.html), ("css", data.css)):
        if len(source) > MAX_HTML:
            errors[name] = _("At most %(max)d characters.", max=MAX_HTML)
        problem = render.check_source(source, html=True) if source.strip() and name not in errors else None
        if problem:
            errors[name] = _("Line %(line)s: %(reason)s", line=problem.line or "?", reason=problem.reason)
    return errors


def _taken(model, column, value: str, current) -> bool:
    return name_taken(column, value, current.id if current is not None else None)


def save_report(template: ReportTemplate | None, data: ReportData) -> ReportTemplate:
    """Create or update a report template; InvalidData when it cannot be used."""
    errors = check_report(template, data)
    if errors:
        raise InvalidData(errors)
    template = template or ReportTemplate()
    template.label, template.html, template.css = data.label.strip(), data.html, data.css
    template.paper_size, template.orientation = data.paper_size, data.orientation
    db.session.add(template)
    flush_unique("label", _("Another report template already has this label."))
    return template


def preview_report(data: ReportData, opp, lang: str) -> bytes:
    """The editor's current template as the PDF an action would send for `opp`, in `lang`."""
    errors = {k: v for k, v in check_report(None, data).items() if k != "label"}
    if errors:
        raise InvalidData(errors)
    from engine.errors import PermanentError

    try:
        return pdf.render_report(ReportTemplate(**vars(data)), opp, lang)
    except PermanentError as err:
        raise ServiceError(str(err), 422) from err


def delete_record(record, key: str) -> None:
    """Delete a report or export template that no automatic action uses."""
    if usage(key).get(record.id):
        raise ServiceError(_("Automatic actions use it: change those first."), 409)
    db.session.delete(record)
    db.session.flush()


def list_exports() -> list[tuple[ExportTemplate, int]]:
    """Export templates by name, with how many automatic actions use each."""
    used = usage("export_template_id")
    rows = db.session.execute(select(ExportTemplate).order_by(ExportTemplate.name)).scalars()
    return [(t, used.get(t.id, 0)) for t in rows]


def check_export(template: ExportTemplate | None, data: ExportData) -> dict[str, str]:
    """Field messages for an export template that cannot be saved."""
    errors = {}
    name = data.name.strip()
    if not name:
        errors["name"] = _("Enter a name.")
    elif len(name) > 120:
        errors["name"] = _("At most %(max)d characters.", max=120)
    elif _taken(ExportTemplate, ExportTemplate.name, name, template):
        errors["name"] = _("Another export template already has this name.")
    if not data.columns:
        errors["columns"] = _("Choose at least one column.")
    elif any(c not in dict(exports.column_choices()) for c in data.columns):
        errors["columns"] = _("One of the chosen columns does not exist.")
    if data.file_format not in exports.FORMATS:
        errors["file_format"] = _("Choose CSV or XLSX.")
    return errors


def save_export(template: ExportTemplate | None, data: ExportData) -> ExportTemplate:
    """Create or update an export template; InvalidData when it cannot be used."""
    errors = check_export(template, data)
    if errors:
        raise InvalidData(errors)
    template = template or ExportTemplate()
    template.name, template.file_format = data.name.strip(), data.file_format
    template.columns = [c for c, _header in exports.column_choices() if c in data.columns]  # the list's own order
    db.session.add(template)
    flush_unique("name", _("Another export template already has this name."))
    return template


# Files about this one opportunity: reports, and the attachments of scheduled activities (M5).
PARTNER_FILE_KINDS = ("generate_report", "schedule_activity")


def sent_files(opp, user):
    """The files automatic actions sent for `opp` that `user` may download, newest first. An export holds
    other opportunities' rows (whatever its recipient may see), so partner users get reports and activity
    attachments only."""
    stmt = select(StoredFile).where(StoredFile.opportunity_id == opp.id)
    if user.is_partner:
        stmt = stmt.where(StoredFile.kind.in_(PARTNER_FILE_KINDS))
    return list(db.session.execute(stmt.order_by(StoredFile.id.desc())).scalars())
