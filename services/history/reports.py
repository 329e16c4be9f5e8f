"""History tab Reports (SPEC H1, H2): one row per email a generate-report run sent (or the run alone while it
waits), with the report template, the PDF (a download link for those who may download it), recipient, SMTP
credentials and sender. The Exports tab shares the file and email helpers below."""

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, exists, func
from sqlalchemy.orm import aliased

from models import ActionRun, OutgoingEmail, ReportTemplate, StoredFile
from services.history.email import email_status_column
from services.history.registry import Column, Tab, opportunity_column, register, when_column

# Row layout shared by Reports and Exports: run, opportunity name, email, file, then the tab's own values.
EMAIL, FILE = 2, 3

_newer = aliased(StoredFile)


def join_email_and_file(stmt):
    """The run's emails, and the newest file it stored (a retried attempt reuses it; at most one per row,
    so that the (run, email) keyset stays unique)."""
    newer_exists = exists().where(_newer.run_id == StoredFile.run_id, _newer.id > StoredFile.id)
    return (stmt.outerjoin(OutgoingEmail, OutgoingEmail.run_id == ActionRun.id)
            .outerjoin(StoredFile, and_(StoredFile.run_id == ActionRun.id, ~newer_exists)))


def may_download(stored: StoredFile) -> bool:
    """The rule of the download route (services.report_templates.sent_files): rows are already scoped to
    opportunities the user may see; partners get reports only, since an export holds other opportunities."""
    from services.report_templates import PARTNER_FILE_KINDS

    return not current_user.is_partner or stored.kind in PARTNER_FILE_KINDS


def file_cell(row):
    """The file's name, a link to the existing download route when the user may download it."""
    stored = row[FILE]
    if stored is None:
        return ""
    if not may_download(stored):
        return stored.filename
    url = url_for("opportunities.file_download", opp_id=stored.opportunity_id, file_id=stored.id)
    return Markup('<a href="{}" download>{}</a>').format(url, stored.filename)


def email_columns() -> list[Column]:
    """Recipient, SMTP credentials and sender address, copied on the email row at send time."""
    return [
        Column("recipient", _l("Recipient"), OutgoingEmail.recipient,
               lambda row: row[EMAIL].recipient if row[EMAIL] else ""),
        Column("credentials", _l("SMTP credentials"), OutgoingEmail.credentials_name,
               lambda row: row[EMAIL].credentials_name if row[EMAIL] else "", filter="select"),
        Column("sender", _l("Sender address"), OutgoingEmail.sender,
               lambda row: row[EMAIL].sender if row[EMAIL] else ""),
    ]


# What ran is what the history shows: the label the run recorded when it sent; while it has not got that
# far (or it failed before), the template its config names, if it still exists.
REPORT_NAME = func.coalesce(ActionRun.result["report"].as_string(), ReportTemplate.label)

TAB = register(Tab(
    key="reports", label=_l("Reports"), kinds=("generate_report",), position=50,
    entities=(OutgoingEmail, StoredFile, REPORT_NAME),
    join=lambda stmt: join_email_and_file(stmt).outerjoin(
        ReportTemplate, ReportTemplate.id == ActionRun.config["report_template_id"].as_integer()),
    detail_id=OutgoingEmail.id,
    columns=[
        opportunity_column(),
        Column("template", _l("Report template"), REPORT_NAME, lambda row: row[4] or "", filter="select"),
        Column("file", _l("File"), StoredFile.filename, file_cell),
        *email_columns(),
        when_column(),
        email_status_column(),
    ],
))
