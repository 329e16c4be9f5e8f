"""History tab Email: one row per message a send-email run sent (or the run alone while it waits)."""

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, func, or_, select

from extensions import db
from models import ActionRun, EmailTemplate, OutgoingEmail
from models.base import translated
from models.runs import RUN_STATUSES
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_statuses,
    status_column,
    when_column,
)
from services.history.shown import labelled

# The seed's words for a delivered email (SPEC H1 "status true/false"), the same in every tab with one row
# per email (Email, Reports, Exports): the same status is never worded two ways.
SENT = _l("true")
NOT_SENT = _l("false")
DELIVERED = {"sent": SENT, "not_sent": NOT_SENT}


def email_status(row) -> tuple[str, str]:
    """A row's status from its email (index 2): sent / not sent, else the run's own status while nothing
    was sent. Email, Reports and Exports all read the email row so."""
    run, mail = row[0], row[2]
    if mail is not None and mail.status == "sent":
        return SENT, "succeeded"
    if mail is not None and mail.status == "failed":
        return NOT_SENT, "failed"
    return run.status_label, run.status


def email_status_shown() -> ColumnElement:
    """email_status in SQL, in the user's language (for the sort)."""
    key = case((OutgoingEmail.status == "sent", "sent"), (OutgoingEmail.status == "failed", "not_sent"),
               else_=ActionRun.status)
    return labelled(key, {**RUN_STATUSES, **DELIVERED})


EMAIL_STATUS_FILTERS = {
    "sent": (SENT, OutgoingEmail.status == "sent"),
    "not_sent": (NOT_SENT, or_(OutgoingEmail.status == "failed",
                               and_(OutgoingEmail.id.is_(None), ActionRun.status == "failed"))),
    **run_statuses(*COMMON_STATUSES),
}


def email_status_column() -> Column:
    """The status column of a tab with one row per email: sent, not sent, or the run's own status."""
    return status_column(EMAIL_STATUS_FILTERS, email_status, email_status_shown)


# A run still waiting shows the template its config names.
TEMPLATE_RECORDED = func.coalesce(OutgoingEmail.template_name, ActionRun.config["template_name"].as_string())


def template_labels(names=None) -> dict[str, str]:
    """{name a run recorded: the template's name in the user's language}, for the templates that still
    exist (a few: read whole, once per request); a deleted template shows the name recorded."""
    cache = g.get("email_template_labels")
    if cache is None:
        rows = db.session.execute(select(EmailTemplate.name, EmailTemplate.name_i18n)).all()
        cache = g.email_template_labels = {name: translated(name, i18n) for name, i18n in rows}
    return cache if names is None else {n: cache.get(n, n) for n in names}


def _template_cell(row) -> str:
    recorded = row[2].template_name if row[2] else (row[0].config or {}).get("template_name")
    return template_labels().get(recorded, recorded) if recorded else recorded


TAB = register(Tab(
    key="email", label=_l("Email"), kinds=("send_email",), position=10,
    entities=(OutgoingEmail,),
    join=lambda stmt: stmt.outerjoin(OutgoingEmail, OutgoingEmail.run_id == ActionRun.id),
    detail_id=OutgoingEmail.id,
    columns=[
        opportunity_column(),
        Column("template", _l("Template"), OutgoingEmail.template_name, _template_cell, filter="select",
               option_labels=template_labels, shown=lambda: labelled(TEMPLATE_RECORDED, template_labels())),
        Column("recipient", _l("Recipient email"), OutgoingEmail.recipient,
               lambda row: row[2].recipient if row[2] else ""),
        Column("credentials", _l("SMTP credentials"), OutgoingEmail.credentials_name,
               lambda row: row[2].credentials_name if row[2] else "", filter="select"),
        when_column(),
        email_status_column(),
    ],
))
