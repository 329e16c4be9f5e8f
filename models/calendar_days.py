"""Days off: the company's holidays (Settings → Holidays) and each user's absences (issue 14 item 9)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import User
from models.base import TranslatedName, utcnow


class Holiday(TranslatedName, db.Model):
    """A non-working day of the company calendar. `region` empty means everywhere, else a comma-separated
    list of provinces or regions matched (case-insensitively) against the opportunity's; `recurring` repeats
    its day and month every year."""

    __tablename__ = "holiday"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    region: Mapped[str | None] = mapped_column(String(200))
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Absence(db.Model):
    """A user away from `starts_on` to `ends_on` (both included, in the user's time zone): automation gives
    what it would give them to their supervisor meanwhile (services.absences.stand_in)."""

    __tablename__ = "absence"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
