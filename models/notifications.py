"""In-app notifications (SPEC P5): one row per user and event, shown in the reader's language."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow

# kind -> message with %(params)s, translated when shown (the reader's language, not the writer's).
NOTIFICATION_TEXTS = {
    "assignment": _l("%(opportunity)s was assigned to your company."),
    "run_failed": _l("An automatic action failed on %(opportunity)s: %(error)s"),
    # E10 auto-pause (services.auto_pause): the flow's managers hear that an action stopped itself.
    "action_paused": _l("The automatic action %(action)s (%(substate)s) failed %(count)s times in a row and "
                        "paused itself: resume it in the designer."),
    # M1 "Notify supervisor": the text the flow's author wrote, placeholders filled (params["text"]).
    "supervisor": None,
}


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        Index("ix_notification_run", "run_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A message a person wrote (M1 Notify supervisor), placeholders already filled; the history filters on it.
    body: Mapped[str | None] = mapped_column(Text)
    # The run that sent it (the Notifications tab of the action history), None for the built-in kinds.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id"))

    @property
    def text(self) -> str:
        template = NOTIFICATION_TEXTS.get(self.kind)
        if template is None:
            return self.body or self.params.get("text", self.kind)
        try:
            return str(template) % self.params
        except (KeyError, TypeError, ValueError):
            return str(template)
