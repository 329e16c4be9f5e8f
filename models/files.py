"""Files an action run produced and sent (SPEC A6, A9): reports and exports, kept so that an authorised
user can download exactly what went out (the bytes on disk under FILES_DIR, checked by their sha256)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow


class StoredFile(db.Model):
    __tablename__ = "stored_file"
    __table_args__ = (Index("ix_stored_file_opportunity", "opportunity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    # generate_report or export: which history tab lists it.
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to FILES_DIR: the folder can move with the instance.
    path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
