"""Absences per user (issue 14 item 9): from, to, a note. While a user is away, what automation would
give them (emails, notifications, tasks, activities) goes to their supervisor instead: `stand_in` is the
one place that decides who, walking up the chain of supervisors when the supervisor is away too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import Absence, User
from models.base import utcnow
from services.validation import InvalidData

log = logging.getLogger("oppflow")
MAX_NOTE = 300
# How far up the chain of supervisors a stand-in is looked for; a chain that loops stops earlier.
MAX_HOPS = 10


@dataclass(frozen=True)
class StandIn:
    """Who receives what `absent` would have received; `user` is `absent` itself when nobody was free."""

    user: User
    absent: User
    until: date

    @property
    def found(self) -> bool:
        return self.user.id != self.absent.id

    def record(self) -> dict:
        """What a run keeps in its result (`stand_ins`), shown by the history in the reader's language."""
        return {"user_id": self.user.id, "user_name": self.user.name, "absent_id": self.absent.id,
                "absent_name": self.absent.name, "until": self.until.isoformat(), "found": self.found}


def local_day(user: User, at: datetime | None = None) -> date:
    """The day it is (or was at `at`, naive UTC) where the user works."""
    try:
        tz = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return (at or utcnow()).replace(tzinfo=UTC).astimezone(tz).date()


def absence_of(user: User, at: datetime | None = None) -> Absence | None:
    """The user's absence covering that moment (the one ending last when several overlap), or None."""
    day = local_day(user, at)
    return db.session.execute(
        select(Absence).where(Absence.user_id == user.id, Absence.starts_on <= day, Absence.ends_on >= day)
        .order_by(Absence.ends_on.desc()).limit(1)
    ).scalar_one_or_none()


def stand_in(user: User | None, at: datetime | None = None) -> StandIn | None:
    """None when `user` is not away at `at` (now by default); else the first active internal supervisor up
    the chain who is not away either, or `user` itself (found False) when there is none. Bounded by
    MAX_HOPS and by the users already seen, so a chain that loops back ends."""
    if user is None:
        return None
    absence = absence_of(user, at)
    if absence is None:
        return None
    seen, current = {user.id}, user
    for _hop in range(MAX_HOPS):
        boss = current.supervisor
        if boss is None or boss.id in seen:
            break
        seen.add(boss.id)
        if boss.active and not boss.is_partner and absence_of(boss, at) is None:
            return StandIn(boss, user, absence.ends_on)
        current = boss
    return StandIn(user, user, absence.ends_on)


def resolve(user: User | None, stand_ins: list[dict], at: datetime | None = None) -> User | None:
    """The user who should receive what goes to `user` now; a substitution is appended to `stand_ins`."""
    standing = stand_in(user, at)
    if standing is None:
        return user
    record = standing.record()
    if record not in stand_ins:
        stand_ins.append(record)
    return standing.user


def absences_of(user: User) -> list[Absence]:
    """The user's absences, latest first."""
    return list(db.session.execute(
        select(Absence).where(Absence.user_id == user.id).order_by(Absence.starts_on.desc(), Absence.id.desc())
    ).scalars())


def create_absence(user: User, starts_on: date | None, ends_on: date | None, note: str | None,
                   actor: User) -> Absence:
    """Record an absence; an end before the start, or one overlapping another absence, is refused."""
    errors: dict[str, str] = {}
    note = (note or "").strip()
    if starts_on is None:
        errors["starts_on"] = _("Enter the first day of the absence.")
    if ends_on is None:
        errors["ends_on"] = _("Enter the last day of the absence.")
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = _("The last day cannot be before the first.")
    if len(note) > MAX_NOTE:
        errors["note"] = _("At most %(max)d characters.", max=MAX_NOTE)
    if not errors and db.session.execute(
            select(Absence.id).where(Absence.user_id == user.id, Absence.starts_on <= ends_on,
                                     Absence.ends_on >= starts_on).limit(1)).first() is not None:
        errors["starts_on"] = _("These days overlap another absence of the same user.")
    if errors:
        raise InvalidData(errors)
    absence = Absence(user_id=user.id, starts_on=starts_on, ends_on=ends_on, note=note or None,
                      created_by_id=actor.id)
    db.session.add(absence)
    db.session.flush()
    log.info("absence %s of user %s recorded by %s", absence.id, user.id, actor.id)
    return absence


def delete_absence(absence: Absence, actor: User) -> None:
    """Remove an absence: from now on automation gives the user their own work again."""
    log.info("absence %s of user %s deleted by %s", absence.id, absence.user_id, actor.id)
    db.session.delete(absence)
    db.session.flush()
