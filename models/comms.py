"""Outgoing email: one row per message an action run sends (SPEC A5, A6, A8, A9; history H1).

A run may send several messages (the recipient role and extra users, each in their own language), so
what the history's Email and Reports tabs list and filter — template, recipient address, SMTP
credentials, sender address, Message-ID, status, error — lives here, one row per message, copied at
send time so that renaming or deleting a template or credentials does not rewrite the past.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.runs import ActionRun

EMAIL_STATUSES = {
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Not sent"),
}
RECIPIENT_ROLES = {
    "client": _l("Client"),
    "installer": _l("Installer"),
    "commercial": _l("Commercial"),
    "owner": _l("Internal owner of the opportunity"),
    "user": _l("Internal user"),
}


class OutgoingEmail(db.Model):
    __tablename__ = "outgoing_email"
    __table_args__ = (
        Index("ix_outgoing_email_kind", "kind", "id"),
        Index("ix_outgoing_email_opportunity", "opportunity_id", "id"),
        Index("ix_outgoing_email_recipient", "recipient"),
        # History filters (status, template, credentials) walk these newest run first and stop at one page;
        # the template and credentials select options hop through the distinct values of the tab's kind.
        Index("ix_outgoing_email_status_run", "status", "run_id", "id"),
        Index("ix_outgoing_email_template_run", "template_name", "run_id", "id"),
        Index("ix_outgoing_email_credentials_run", "credentials_name", "run_id", "id"),
        Index("ix_outgoing_email_kind_template", "kind", "template_name"),
        Index("ix_outgoing_email_kind_credentials", "kind", "credentials_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("action_run.id", ondelete="CASCADE"), index=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    # The action kind that sent it (send_email, generate_report, export, esignature): the history's tab.
    kind: Mapped[str] = mapped_column(String(40))
    template_name: Mapped[str | None] = mapped_column(String(120))
    recipient: Mapped[str] = mapped_column(String(254), default="")
    recipient_name: Mapped[str | None] = mapped_column(String(160))
    recipient_role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(5))
    credentials_name: Mapped[str | None] = mapped_column(String(120))
    sender: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text, default="")
    # Made before sending and recorded with status "sending": the mailbox or SMTP log can be searched for it.
    # Empty on a row that records why nothing could be sent (e.g. the client has no email address).
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="sending")
    error: Mapped[str | None] = mapped_column(Text)
    # [{"filename", "content_type", "size"}]; the sending kind keeps the file itself where it downloads it.
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    size: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    run: Mapped[ActionRun] = relationship()

    @property
    def status_label(self) -> str:
        return str(EMAIL_STATUSES.get(self.status, self.status))

    @property
    def role_label(self) -> str:
        return str(RECIPIENT_ROLES.get(self.recipient_role, self.recipient_role))
