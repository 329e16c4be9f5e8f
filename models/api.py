"""API tokens (SPEC P4): a user's bearer credentials for /api/v1, stored as a hash only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import User
from models.base import utcnow

SCOPES = ("read", "write")


class ApiToken(db.Model):
    """A named token of one user: what it may do (scopes), until when, and when and from where it was
    last used. The plaintext is shown once; `token_hash` (SHA-256, the token being 256 random bits) finds it."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the token ("opf_ab12"), shown in lists so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(40), default="read")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> set[str]:
        return set((self.scopes or "").split())

    def usable(self, now: datetime) -> bool:
        """Not revoked, not expired, and its user still active."""
        return self.revoked_at is None and self.expires_at > now and bool(self.user.active)
