"""Users, partner companies, channels, roles and named permissions."""

from __future__ import annotations

from datetime import datetime, time

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Time, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models.base import TranslatedName, utcnow

ROLES = {
    "admin": _l("Administrator"),
    "manager": _l("Sales manager"),
    "agent": _l("Agent"),
    "partner": _l("Partner user"),
}
PARTNER_KINDS = {"installer": _l("Installer"), "commercial": _l("Commercial")}
LANGUAGE_NAMES = {"it": "Italiano", "es": "Español", "en": "English"}

# Named permissions, grouped as the seeds name them ("Opportunity states → Modify opportunity states").
PERMISSIONS = {
    "opportunity_states.modify": _l("Opportunity states → Modify opportunity states"),
    "opportunities.edit": _l("Opportunities → Create and edit opportunities"),
    "customers.edit": _l("Customers → Create and edit customers"),
    "settings.manage": _l("Settings → Manage users, partners and channels"),
}
ROLE_PERMISSIONS = {
    "admin": set(PERMISSIONS),
    "manager": {"opportunity_states.modify", "opportunities.edit", "customers.edit"},
    "agent": {"opportunities.edit", "customers.edit"},
    "partner": set(),
}


class PartnerCompany(db.Model):
    __tablename__ = "partner_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # installer | commercial
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    province: Mapped[str | None] = mapped_column(String(60))
    # Emails to the company (as installer or commercial of an opportunity) are written in this language.
    language: Mapped[str] = mapped_column(String(5), default="it", server_default="it")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="company", order_by="User.name")

    @property
    def kind_label(self) -> str:
        return str(PARTNER_KINDS.get(self.kind, self.kind))


class UserSession(db.Model):
    """One login on one browser (SPEC P1). The cookie carries a random token whose hash is kept here, so
    logging out, a password change or a deactivation ends sessions on the server: a copied cookie stops
    working even though its signature is still valid."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class UserPermission(db.Model):
    __tablename__ = "user_permission"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("partner_company.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(5))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")
    work_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    work_end: Mapped[time] = mapped_column(Time, default=time(18, 0))
    # ISO weekdays the user works, e.g. "12345" for Monday to Friday.
    work_days: Mapped[str] = mapped_column(String(7), default="12345")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)

    company: Mapped[PartnerCompany | None] = relationship(back_populates="users")
    supervisor: Mapped[User | None] = relationship(remote_side=[id])
    granted: Mapped[list[UserPermission]] = relationship(cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        # werkzeug's default (scrypt) unless the config names another method: the test suite names a cheap
        # one (a scrypt hash costs ~0.1 s, and the suite makes thousands of users and logins).
        method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
        self.password_hash = generate_password_hash(password, method) if method else generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def is_partner(self) -> bool:
        return self.role == "partner"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def permissions(self) -> set[str]:
        """The role's permissions plus those granted to this user by name."""
        if self.is_partner:
            return set()
        return ROLE_PERMISSIONS.get(self.role, set()) | {p.name for p in self.granted}

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def role_label(self) -> str:
        return str(ROLES.get(self.role, self.role))


# One account per address whatever its case: the service checks first and says so in words; this index
# closes the race between two simultaneous creates.
Index("uq_user_email_lower", func.lower(User.email), unique=True)


class Channel(TranslatedName, db.Model):
    """Where opportunities come from (Settings → Channels); `label` is the name in the reader's language."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
