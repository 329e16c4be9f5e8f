"""A user's personal iCalendar feed (issue 11, item 7): a secret address that Google, Outlook or Apple
calendars subscribe to, showing the same items as the calendar page.

The token is looked up by its SHA-256 (token_hash) and kept encrypted (token_encrypted) only so the page
can show the address again; a new address replaces the row, so the old token stops working at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from extensions import db
from models import Activity, CalendarFeed, Location, Opportunity, Task, User
from models.base import translated, utcnow
from services import calendar as cal
from services import secrets as secret_store

secret_store.register(CalendarFeed, "token_encrypted")

# What a subscribed calendar receives: two months back, a year ahead, at most this many items of each kind.
WINDOW_BEFORE, WINDOW_AFTER, MAX_ITEMS = timedelta(days=60), timedelta(days=365), 2000
ACTIVITY_MINUTES = 30  # an activity without a duration
DEADLINE_MINUTES = 15  # a task deadline as a short event ending nothing: calendars show it at its time
TOKEN_CHARS = (32, 64)  # token_urlsafe(32) is 43 characters; anything else is not ours


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_of(user: User) -> CalendarFeed | None:
    return db.session.execute(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).scalar_one_or_none()


def address(feed: CalendarFeed) -> str:
    """The feed's full address, at the address users reach this app at (PUBLIC_URL)."""
    token = secret_store.decrypt(feed.token_encrypted)
    return current_app.config["PUBLIC_URL"] + url_for("calendar.feed", token=token)


def new_address(user: User) -> CalendarFeed:
    """Give the user a new secret address; an earlier one stops working. The caller commits."""
    token = secrets.token_urlsafe(32)
    feed = feed_of(user) or CalendarFeed(user_id=user.id)
    feed.token_hash, feed.token_encrypted = _hash(token), secret_store.encrypt(token)
    feed.created_at, feed.last_used_at = utcnow(), None
    db.session.add(feed)
    db.session.flush()
    return feed


def stop_sharing(user: User) -> bool:
    """Revoke the user's address; False when there was none. The caller commits."""
    feed = feed_of(user)
    if feed is None:
        return False
    db.session.delete(feed)
    db.session.flush()
    return True


def find(token: str) -> CalendarFeed | None:
    """The feed a token opens, if it is current and its user still active; records that it was read."""
    if not TOKEN_CHARS[0] <= len(token) <= TOKEN_CHARS[1]:
        return None
    feed = db.session.execute(select(CalendarFeed).join(User, User.id == CalendarFeed.user_id)
                              .where(CalendarFeed.token_hash == _hash(token), User.active.is_(True))
                              ).scalar_one_or_none()
    if feed is not None:
        feed.last_used_at = utcnow()
    return feed


# -- the iCalendar document ------------------------------------------------------------------------------

def _host() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "oppflow"


def _link(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_URL"] + url_for(endpoint, **values)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _person(email: str | None, name: str | None, **params) -> vCalAddress | None:
    if not email:
        return None
    who = vCalAddress(f"mailto:{email}")
    if name:
        who.params["CN"] = vText(name)
    who.params.update(params)
    return who


def build(user: User) -> bytes:
    """The user's calendar as an iCalendar document, in their language, scoped to what they may see now."""
    with force_locale(user.language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        now = utcnow()
        start, end = now - WINDOW_BEFORE, now + WINDOW_AFTER
        ics = Calendar()
        ics.add("prodid", "-//oppflow//Calendar//EN")
        ics.add("version", "2.0")
        ics.add("calscale", "GREGORIAN")
        ics.add("method", "PUBLISH")
        ics.add("x-wr-calname", _("oppflow · %(name)s", name=user.name))
        ics.add("x-wr-timezone", cal.zone_of(user).key)
        # How often subscribers should read it again (Apple and Outlook honour these; Google has its own pace).
        ics.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        ics.add("x-published-ttl", "PT1H")
        for event in _activity_events(user, start, end, now):
            ics.add_component(event)
        for event in _task_events(user, start, end, now):
            ics.add_component(event)
        return ics.to_ical()


def _activity_events(user: User, start: datetime, end: datetime, now: datetime):
    stmt = (cal.activities_stmt(user, start, end)
            .options(contains_eager(Activity.opportunity).joinedload(Opportunity.customer),
                     selectinload(Activity.invitees), selectinload(Activity.responsible), selectinload(Activity.type))
            .limit(MAX_ITEMS))
    activities = db.session.execute(stmt).unique().scalars().all()
    places = {loc.id: loc for loc in db.session.execute(
        select(Location).where(Location.id.in_({a.location_id for a in activities if a.location_id}))).scalars()}
    for activity in activities:
        event = Event()
        event.add("uid", f"activity-{activity.id}@{_host()}")
        event.add("dtstamp", _utc(now))
        event.add("dtstart", _utc(activity.due_at))
        event.add("dtend", _utc(activity.due_at) + timedelta(minutes=activity.duration_minutes or ACTIVITY_MINUTES))
        # No edit time is stored: the activity changes when it is created and when it is completed.
        changed = activity.completed_at or activity.created_at
        event.add("last-modified", _utc(changed))
        event.add("sequence", 1 if activity.completed_at else 0)
        event.add("summary", activity.subject or activity.type.label)
        page = _link("opportunities.detail", opp_id=activity.opportunity_id)
        lines = [activity.description or "", f"{_('Opportunity')}: {activity.opportunity.name}", page]
        if activity.completed_at:
            lines.insert(0, _("Completed"))
        event.add("description", "\n".join(line for line in lines if line))
        where = _location(activity, places.get(activity.location_id))
        if where:
            event.add("location", where)
        event.add("url", activity.link or page)
        event.add("status", "CONFIRMED")
        organizer = activity.responsible
        if organizer is not None:
            event.add("organizer", _person(organizer.email, organizer.name))
        for invitee in activity.invitees:
            event.add("attendee", _person(invitee.email, invitee.name, ROLE="REQ-PARTICIPANT", CUTYPE="INDIVIDUAL"))
        customer = activity.opportunity.customer
        if activity.include_client and customer is not None and customer.email:
            event.add("attendee", _person(customer.email, customer.name, ROLE="REQ-PARTICIPANT", CUTYPE="INDIVIDUAL"))
        yield event


def _location(activity: Activity, place: Location | None) -> str:
    parts = [translated(place.name, place.name_i18n), place.address] if place else []
    parts += [activity.location_text, activity.address]
    return ", ".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


def _task_events(user: User, start: datetime, end: datetime, now: datetime):
    stmt = (cal.tasks_stmt(user, start, end).options(contains_eager(Task.opportunity), selectinload(Task.responsible))
            .limit(MAX_ITEMS))
    task_path = cal.task_linker()
    for task in db.session.execute(stmt).unique().scalars():
        event = Event()
        event.add("uid", f"task-{task.id}@{_host()}")
        event.add("dtstamp", _utc(now))
        event.add("dtstart", _utc(task.deadline))
        event.add("dtend", _utc(task.deadline) + timedelta(minutes=DEADLINE_MINUTES))
        changed = max(filter(None, (task.created_at, task.status_changed_at)))
        event.add("last-modified", _utc(changed))
        event.add("sequence", _sequence(task))
        overdue = task.is_overdue(now)
        summary = _("Deadline: %(title)s", title=task.title)
        event.add("summary", f"{summary} ({_('Overdue')})" if overdue else summary)
        page = current_app.config["PUBLIC_URL"] + task_path(task.id)
        lines = [f"{_('Status')}: {task.status_label}", task.description or "",
                 f"{_('Opportunity')}: {task.opportunity.name}", page]
        event.add("description", "\n".join(line for line in lines if line))
        event.add("url", page)
        # A deadline is not a meeting: it does not make the user busy.
        event.add("transp", "TRANSPARENT")
        if task.responsible is not None:
            event.add("organizer", _person(task.responsible.email, task.responsible.name))
        yield event


def _sequence(task: Task) -> int:
    """Grows with each status change (the only edit a task records), so clients keep the newest copy:
    the minutes from its creation to its last status change."""
    if task.status_changed_at is None or task.status_changed_at < task.created_at:
        return 0
    return int((task.status_changed_at - task.created_at).total_seconds()) // 60 + 1
