"""Long work done in the background (issue 14 item 8): bulk retry, run now on a list, flow import. One row per
piece of work, so its progress survives the page that started it, the web process and the worker."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import User
from models.base import utcnow

LONG_JOB_STATUSES = {
    "queued": _l("Waiting to start"),
    "running": _l("In progress"),
    "done": _l("Done"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}
ACTIVE = ("queued", "running")


class LongJob(db.Model):
    """A piece of long work: `kind` names its plug-in (services.progress), `params` what to do, `cursor` how
    far it got (each slice resumes there), `done` of `total` for the bar, `result` the counts shown at the end."""

    __tablename__ = "long_job"
    __table_args__ = (Index("ix_long_job_user_created", "user_id", "created_at"),
                      Index("ix_long_job_status_beat", "status", "heartbeat_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)  # last put on the queue
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)  # a worker is on it (None: none is)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
