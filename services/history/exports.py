"""History tab Exports (SPEC H1): one row per email an export run sent (or the run alone while it waits), with
the export template, its type and extension (CSV / XLSX), the file, and the recipient. Partner users see the
rows of their opportunities but no download link: an export holds other opportunities' rows."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from models import ActionRun, ExportTemplate, OutgoingEmail, StoredFile
from models.catalog import EXPORT_FORMATS
from services.history.email import email_status_column
from services.history.registry import Column, Tab, opportunity_column, register, when_column
from services.history.reports import email_columns, file_cell, join_email_and_file
from services.history.shown import labelled

# What the run recorded when it sent (engine.kinds.export), else its configured template's current values.
TEMPLATE = func.coalesce(ActionRun.result["export_template"].as_string(), ExportTemplate.name)
TYPE = func.coalesce(ActionRun.result["export_type"].as_string(), ExportTemplate.file_format)
EXTENSION = func.coalesce(ActionRun.result["extension"].as_string(), ExportTemplate.file_format)
TYPES = {key: (label, TYPE == key) for key, label in EXPORT_FORMATS.items()}
EXTENSIONS = {key: (f".{key}", EXTENSION == key) for key in EXPORT_FORMATS}


def _type(row) -> str:
    value = row[5]
    return EXPORT_FORMATS.get(value, value or "")


TAB = register(Tab(
    key="exports", label=_l("Exports"), kinds=("export",), position=60,
    entities=(OutgoingEmail, StoredFile, TEMPLATE, TYPE, EXTENSION),
    join=lambda stmt: join_email_and_file(stmt).outerjoin(
        ExportTemplate, ExportTemplate.id == ActionRun.config["export_template_id"].as_integer()),
    detail_id=OutgoingEmail.id,
    columns=[
        opportunity_column(),
        Column("template", _l("Export template"), TEMPLATE, lambda row: row[4] or "", filter="select"),
        Column("type", _l("Export type"), TYPE, _type, filter="select", options=TYPES,
               shown=lambda: labelled(TYPE, EXPORT_FORMATS)),
        Column("extension", _l("Extension"), EXTENSION, lambda row: f".{row[6]}" if row[6] else "",
               filter="select", options=EXTENSIONS),
        Column("file", _l("File"), StoredFile.filename, file_cell),
        email_columns()[0],
        when_column(),
        email_status_column(),
    ],
))
