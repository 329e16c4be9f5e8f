"""Outbound webhooks (issue 13 part 5): subscriptions to domain events and the deliveries made to them."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow

# Event type -> label. "ping" is the test event a person sends by hand; nobody subscribes to it.
WEBHOOK_EVENTS = {
    "substate.opened": _l("Substate opened"),
    "substate.closed": _l("Substate closed"),
    "run.succeeded": _l("Action run succeeded"),
    "run.failed": _l("Action run failed"),
    "task.status_changed": _l("Task status changed"),
    "assignment.accepted": _l("Assignment accepted"),
    "assignment.rejected": _l("Assignment rejected"),
}
PING = "ping"
DELIVERY_STATUSES = {
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
}


class WebhookSubscription(db.Model):
    """A URL that receives the chosen events, signed with its own secret (stored encrypted)."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one subscription: sent until a 2xx answers or the attempts run out. A redelivery is a
    new row with the same `key` (the X-Oppflow-Delivery idempotency key) and the same payload."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The log: a subscription's deliveries newest first, optionally by status.
        Index("ix_webhook_delivery_sub", "subscription_id", "id"),
        Index("ix_webhook_delivery_sub_status", "subscription_id", "status", "id"),
        # The sweeper: waiting deliveries by due time.
        Index("ix_webhook_delivery_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)
    job_id: Mapped[str | None] = mapped_column(String(40))
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    redelivery_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="SET NULL"))

    subscription: Mapped[WebhookSubscription] = relationship()

    @property
    def status_label(self) -> str:
        return str(DELIVERY_STATUSES.get(self.status, self.status))

    @property
    def event_label(self) -> str:
        return str(WEBHOOK_EVENTS.get(self.event_type, _l("Test event") if self.event_type == PING else self.event_type))
