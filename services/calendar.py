"""The calendar (issue 11, item 7): a user's scheduled activities and task deadlines over a period, in their
time zone and language. One query per kind over an indexed range (ix_activity_responsible_due and the
invitee table for activities; ix_task_responsible_status and ix_task_person_user for tasks), both scoped
through services.access, so a partner sees only items of their company's opportunities."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel import dates as babel_dates
from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from extensions import db
from models import Activity, ActivityType, Opportunity, Task, TaskPerson, User
from models.base import translated, utcnow
from models.tasks import OPEN_TASK_STATUSES, TASK_STATUSES
from models.work import activity_invitee
from services.access import scope_opportunities

VIEWS = ("month", "week")
# Dates the calendar shows: a grid around them never leaves what datetime can hold.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
DEFAULT_COLOUR = "#2454d6"  # the app's brand blue: an activity without a colour of its own
TASK_COLOUR = "#7a3fb0"  # task deadlines: a purple no activity colour preset uses
OVERDUE_COLOUR = "#b42318"
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def zone_of(user: User) -> ZoneInfo:
    """The user's time zone; the app's default when the stored name is unknown to this system."""
    for name in (user.timezone, current_app.config["BABEL_DEFAULT_TIMEZONE"], "UTC"):
        try:
            return ZoneInfo(name or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def today_for(user: User) -> date:
    """Today's date where the user is."""
    return datetime.now(zone_of(user)).date()


def safe_colour(value: str | None, default: str = DEFAULT_COLOUR) -> str:
    """A #rrggbb colour fit to put in a style attribute (anything else: the default)."""
    return value if value and _HEX.fullmatch(value) else default


def to_utc(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight starting `day`, as the naive UTC the database stores."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def local(value: datetime, tz: ZoneInfo) -> datetime:
    """A stored naive-UTC time in the user's zone."""
    return value.replace(tzinfo=UTC).astimezone(tz)


# -- the period shown ------------------------------------------------------------------------------------

@dataclass
class Period:
    """The days a view shows: a month as whole weeks, or one week, starting on the locale's first weekday."""

    view: str
    day: date
    start: date
    end: date  # exclusive
    first: date  # the month's first day (month view), else start
    today: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def weeks(self) -> list[list[date]]:
        days = self.days
        return [days[i:i + 7] for i in range(0, len(days), 7)]

    @property
    def previous(self) -> date:
        if self.view == "week":
            return max(FIRST_DAY, self.day - timedelta(days=7))
        return max(FIRST_DAY, (self.first - timedelta(days=1)).replace(day=1))

    @property
    def next(self) -> date:
        if self.view == "week":
            return min(LAST_DAY, self.day + timedelta(days=7))
        return min(LAST_DAY, (self.first + timedelta(days=32)).replace(day=1))


def first_weekday() -> int:
    """The locale's first day of the week (0 = Monday), e.g. Monday in Italy and Spain, Sunday for en (US)."""
    return get_locale().first_week_day


def period(view: str, day: date, today: date, week_start: int = 0) -> Period:
    """The days of the month or week holding `day`."""
    if view == "week":
        start = day - timedelta(days=(day.weekday() - week_start) % 7)
        return Period(view, day, start, start + timedelta(days=7), start, today)
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start = first - timedelta(days=(first.weekday() - week_start) % 7)
    end = last + timedelta(days=7 - (last.weekday() - week_start) % 7)
    return Period(view, day, start, end, first, today)


def parse_request(args, today: date) -> tuple[str, date, list[str]]:
    """The view and the day asked for in the URL's query; what cannot be read falls back to the month
    view or today, with a message saying so (never an error page)."""
    notes = []
    view = args.get("view") or "month"
    if view not in VIEWS:
        view = "month"
        notes.append(_("The calendar view in the address was not understood: the month is shown."))
    day, raw = today, (args.get("date") or "").strip()
    if raw:
        try:
            day = date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            day = None
        if day is None or not FIRST_DAY + timedelta(days=7) <= day <= LAST_DAY - timedelta(days=40):
            day = today
            notes.append(_("The date in the address was not understood (write it as YYYY-MM-DD): today is shown."))
    return view, day, notes


# -- what the calendar holds -----------------------------------------------------------------------------

@dataclass
class Item:
    """One thing on the calendar: a scheduled activity, or a task's deadline, with its words ready."""

    kind: str  # activity | task
    id: int
    title: str
    start: datetime  # in the user's zone
    end: datetime | None
    colour: str
    label: str  # says in words what the colour says: the activity type, or "Task deadline"
    opportunity_id: int
    opportunity_name: str
    url: str = ""
    status: str = ""  # "Completed", "Overdue", a task's status…
    overdue: bool = False
    invited: bool = False
    when: str = ""  # "09:00–10:00", as the locale writes times
    day: date = field(init=False)

    def __post_init__(self) -> None:
        self.day = self.start.date()


def activities_stmt(user: User, start: datetime, end: datetime, *columns):
    """The user's calendar activities (responsible or invited) due in [start, end), of opportunities the user
    may see. Each branch of the OR has its own index: (responsible_id, due_at), and the invitee table."""
    invited = select(activity_invitee.c.activity_id).where(activity_invitee.c.user_id == user.id)
    in_range = and_(Activity.due_at >= start, Activity.due_at < end)
    stmt = (select(*(columns or (Activity,))).select_from(Activity)
            .join(Opportunity, Opportunity.id == Activity.opportunity_id)
            .where(Activity.in_calendar.is_(True),
                   or_(and_(Activity.responsible_id == user.id, in_range), and_(Activity.id.in_(invited), in_range)))
            .order_by(Activity.due_at, Activity.id))
    return scope_opportunities(stmt, user)


def tasks_stmt(user: User, start: datetime, end: datetime, *columns):
    """The deadlines in [start, end) of tasks the user is responsible for or takes part in, of opportunities
    the user may see. Naming every status lets the (responsible_id, status, deadline) index seek the range."""
    participating = select(TaskPerson.task_id).where(TaskPerson.user_id == user.id, TaskPerson.role == "participant")
    in_range = and_(Task.deadline >= start, Task.deadline < end)
    stmt = (select(*(columns or (Task,))).select_from(Task).join(Opportunity, Opportunity.id == Task.opportunity_id)
            .where(or_(and_(Task.responsible_id == user.id, Task.status.in_(list(TASK_STATUSES)), in_range),
                       and_(Task.id.in_(participating), in_range)))
            .order_by(Task.deadline, Task.id))
    return scope_opportunities(stmt, user)


def items(user: User, start: datetime, end: datetime, tz: ZoneInfo) -> list[Item]:
    """Everything on the user's calendar between two naive-UTC times, in time order, with its words and
    link. Rows are read as plain columns and each word is looked up once: a busy month has hundreds."""
    found: list[Item] = []
    uid, clock, kinds = user.id, Clock(), {}
    opp_url = path_builder("opportunities.detail", "opp_id")
    task_url = task_linker()
    completed, overdue_word, deadline_word = _("Completed"), _("Overdue"), _("Task deadline")
    statuses = {key: str(label) for key, label in TASK_STATUSES.items()}
    rows = db.session.execute(activities_stmt(
        user, start, end, Activity.id, Activity.subject, Activity.due_at, Activity.duration_minutes,
        Activity.colour, Activity.completed_at, Activity.responsible_id, Activity.opportunity_id, Opportunity.name,
        Activity.type_id, ActivityType.name, ActivityType.name_i18n)
        .join(ActivityType, ActivityType.id == Activity.type_id))
    for row in rows:
        begins = local(row.due_at, tz)
        ends = begins + timedelta(minutes=row.duration_minutes) if row.duration_minutes else None
        if row.type_id not in kinds:
            kinds[row.type_id] = translated(row[10], row[11])
        kind = kinds[row.type_id]
        found.append(Item(
            "activity", row.id, row.subject or kind, begins, ends, safe_colour(row.colour), kind,
            row.opportunity_id, row[8], opp_url(row.opportunity_id), status=completed if row.completed_at else "",
            invited=row.responsible_id != uid, when=clock.span(begins, ends)))
    now = utcnow()
    rows = db.session.execute(tasks_stmt(user, start, end, Task.id, Task.title, Task.deadline, Task.status,
                                         Task.opportunity_id, Opportunity.name))
    for row in rows:
        overdue = row.status in OPEN_TASK_STATUSES and row.deadline < now
        begins = local(row.deadline, tz)
        found.append(Item(
            "task", row.id, row.title, begins, None, OVERDUE_COLOUR if overdue else TASK_COLOUR, deadline_word,
            row.opportunity_id, row.name, task_url(row.id),
            status=overdue_word if overdue else statuses.get(row.status, row.status), overdue=overdue,
            when=clock.span(begins, None)))
    found.sort(key=lambda item: (item.start, item.kind, item.id))
    return found


class Clock:
    """Times of day as the locale writes them (10:00, 10:00 AM), each minute formatted once a page."""

    def __init__(self) -> None:
        self.locale = get_locale()
        self.seen: dict[tuple[int, int], str] = {}

    def __call__(self, value: datetime) -> str:
        key = (value.hour, value.minute)
        if key not in self.seen:
            self.seen[key] = babel_dates.format_time(time(*key), "short", locale=self.locale)
        return self.seen[key]

    def span(self, start: datetime, end: datetime | None) -> str:
        return f"{self(start)}–{self(end)}" if end else self(start)


# An id no record has, put in a URL once and replaced by each item's id (url_for for each of hundreds of
# items would cost more than the queries).
_MARK = 987654321


def path_builder(endpoint: str, arg: str):
    """A function from an id to the endpoint's path, built with url_for once."""
    head, tail = url_for(endpoint, **{arg: _MARK}).rsplit(str(_MARK), 1)
    return lambda value: f"{head}{value}{tail}"


def task_linker():
    """A function giving a task's page: through the task page's endpoint when the app has one (GET
    /tasks/<id>, the Tasks pages), else the same path built by hand."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith("/tasks/<") and rule.rule.count("<") == 1 and rule.rule.endswith(">") \
                and "GET" in rule.methods:
            return path_builder(rule.endpoint, next(iter(rule.arguments)))
    return lambda task_id: f"/tasks/{task_id}"


def by_day(found: list[Item]) -> dict[date, list[Item]]:
    days: dict[date, list[Item]] = {}
    for item in found:
        days.setdefault(item.day, []).append(item)
    return days


# -- words for the page, in the user's language ------------------------------------------------------------

def month_title(day: date) -> str:
    return babel_dates.format_skeleton("yMMMM", day, locale=get_locale())


def week_title(start: date, end: date) -> str:
    return babel_dates.format_interval(start, end - timedelta(days=1), "yMMMd", locale=get_locale())


def day_title(day: date) -> str:
    """The day as a heading says it: "mercoledì 11 marzo", "miércoles, 11 de marzo", "Wednesday, March 11"."""
    locale = get_locale()
    return babel_dates.format_date(day, _day_pattern(str(locale)), locale=locale)


@lru_cache(maxsize=16)
def _day_pattern(locale_name: str) -> str:
    # The locale's month-day-weekday pattern with the weekday written in full (CLDR has it abbreviated).
    skeletons = Locale.parse(locale_name).datetime_skeletons
    pattern = skeletons[babel_dates.match_skeleton("MMMMEd", skeletons)].pattern
    return re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", pattern)


def weekday_names(week_start: int) -> list[tuple[str, str]]:
    """(abbreviated, full) weekday names in the locale, in the order the grid shows them."""
    days = get_locale().days["format"]
    order = [(week_start + i) % 7 for i in range(7)]
    return [(days["abbreviated"][i], days["wide"][i]) for i in order]


def calendar_page(user: User, view: str, day: date) -> dict:
    """What the calendar page shows: the period, its items by day, and the words for it."""
    tz = zone_of(user)
    today = today_for(user)
    shown = period(view, day, today, first_weekday())
    found = items(user, to_utc(shown.start, tz), to_utc(shown.end, tz), tz)
    title = month_title(shown.first) if view == "month" else week_title(shown.start, shown.end)
    return {"period": shown, "days": by_day(found), "count": len(found), "title": title,
            "weekdays": weekday_names(shown.start.weekday()), "zone": tz.key, "day_title": day_title}
