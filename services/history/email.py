"""History tab Email: one row per message a send-email run sent (or the run alone while it waits)."""

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_

from models import ActionRun, OutgoingEmail
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

SENT = _l("true")
NOT_SENT = _l("false")


def email_status_of(sent, not_sent) -> Callable:
    """A row's status from its email (index 2): sent / not sent in the tab's words, else the run's own
    status while nothing was sent. Email, Reports and Exports all read the email row so."""
    def status(row):
        run, mail = row[0], row[2]
        if mail is not None and mail.status == "sent":
            return sent, "succeeded"
        if mail is not None and mail.status == "failed":
            return not_sent, "failed"
        return run.status_label, run.status
    return status


def email_statuses(sent, not_sent) -> dict:
    """The status filter of a tab with one row per email: sent, not sent (or failed before any), and the
    run statuses of what waits or ended otherwise."""
    return {
        "sent": (sent, OutgoingEmail.status == "sent"),
        "not_sent": (not_sent, or_(OutgoingEmail.status == "failed",
                                   and_(OutgoingEmail.id.is_(None), ActionRun.status == "failed"))),
        **run_statuses(*COMMON_STATUSES),
    }


TAB = register(Tab(
    key="email", label=_l("Email"), kinds=("send_email",), position=10,
    entities=(OutgoingEmail,),
    join=lambda stmt: stmt.outerjoin(OutgoingEmail, OutgoingEmail.run_id == ActionRun.id),
    detail_id=OutgoingEmail.id,
    columns=[
        opportunity_column(),
        Column("template", _l("Template"), OutgoingEmail.template_name,
               lambda row: row[2].template_name if row[2] else (row[0].config or {}).get("template_name"),
               filter="select"),
        Column("recipient", _l("Recipient email"), OutgoingEmail.recipient,
               lambda row: row[2].recipient if row[2] else ""),
        Column("credentials", _l("SMTP credentials"), OutgoingEmail.credentials_name,
               lambda row: row[2].credentials_name if row[2] else "", filter="select"),
        when_column(),
        status_column(email_statuses(SENT, NOT_SENT), email_status_of(SENT, NOT_SENT)),
    ],
))
