"""E-signature and inbound events (SPEC A8, S10, P4): external sources that call our signed webhook,
and the signature requests a provider was asked to collect."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow

SIGNATURE_STATUSES = {
    "sending": _l("Sending"),
    "sent": _l("Sent for signature"),
    "signed": _l("Signed"),
    "declined": _l("Declined"),
}
# The events a source may report, and the action lists an external-source action keeps for each.
EVENTS = {"signed": _l("Signed"), "declined": _l("Declined")}


class ExternalSource(db.Model):
    """A system that calls POST /hooks/<name> with an HMAC signature made with its secret."""

    __tablename__ = "external_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)  # the URL's <source>
    label: Mapped[str] = mapped_column(String(120), default="")
    # Fernet token (services.secrets); the plaintext is shown once, at creation or regeneration.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignatureRequest(db.Model):
    """A document sent to a signer through a provider; the provider's callback moves its status."""

    __tablename__ = "signature_request"
    __table_args__ = (Index("ix_signature_request_opportunity", "opportunity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    external_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_source_action.id", ondelete="SET NULL"))
    source_name: Mapped[str] = mapped_column(String(60))
    provider: Mapped[str] = mapped_column(String(40))
    # The provider's id for the request; for the simulator also the unguessable token of /sign/<token>.
    reference: Mapped[str | None] = mapped_column(String(128), unique=True)
    signer_email: Mapped[str] = mapped_column(String(254))
    signer_name: Mapped[str] = mapped_column(String(160), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(20), default="sending")
    document_name: Mapped[str] = mapped_column(String(160))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return str(SIGNATURE_STATUSES.get(self.status, self.status))
