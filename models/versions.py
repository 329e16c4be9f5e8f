"""D12: the audit of flow changes — one row per created, updated or deleted piece of a flow (or a template or
criterion it uses), with its state before and after and the type's config version it produced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import User
from models.base import utcnow


class FlowChange(db.Model):
    """Written by services.flow_versions from a session event, never by routes: every write path is covered."""

    __tablename__ = "flow_change"
    __table_args__ = (
        Index("ix_flow_change_type", "type_id", "id"),
        Index("ix_flow_change_entity", "entity", "entity_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for shared records (email and report templates): the Changes page finds them by reference.
    type_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity_type.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    entity: Mapped[str] = mapped_column(String(30))  # services.flow_versions.ENTITIES
    entity_id: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(10))  # create | update | delete
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The type's config version this change produced (None for shared records).
    version: Mapped[int | None] = mapped_column(Integer)
    # The entity's shown name at the time, so a deleted one is still named.
    title: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User | None] = relationship()
