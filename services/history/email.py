"""History tab Email: one row per message a send-email run sent (or the run alone while it waits)."""

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


def _status(row):
    run, mail = row[0], row[2]
    if mail is not None and mail.status == "sent":
        return SENT, "succeeded"
    if mail is not None and mail.status == "failed":
        return NOT_SENT, "failed"
    return run.status_label, run.status


STATUSES = {
    "sent": (SENT, OutgoingEmail.status == "sent"),
    "not_sent": (NOT_SENT, or_(OutgoingEmail.status == "failed",
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
        status_column(STATUSES, _status),
    ],
))
