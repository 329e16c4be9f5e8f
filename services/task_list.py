"""The task list (Tasks in the main navigation): views, filters and keyset paging that stays fast at
100,000 tasks.

The page is "the first 25 tasks by deadline (no deadline last), then id, that pass the filters". Both
databases answer that at once when they walk an index in that order and stop after a page; they get
slow when a condition such as `status IN ('todo', 'in_progress')` or "responsible, or participant, or
observer" makes them collect every matching row and sort it. So the page is read as a merge of a few
*sources*, each one walk of one index in the list's order, limited to a page:

- one source per chosen status: (status, deadline, id), or (responsible_id, status, deadline, id) when
  the view is "mine" or a responsible is chosen;
- "where I take part" adds the tasks I am a participant or observer of (task_person by user, then the
  task by its key: a person takes part in few tasks, sorted in one go);
- an opportunity-name filter matching few opportunities becomes `opportunity_id IN (…)` of the
  opportunities the user may see (the history's rule, services.history.keyset), and those tasks are
  read by ix_task_opportunity.

Each source reads the tasks with a deadline first, in (deadline, id) order, then those without one, by
id; the merge keeps the page's first rows. The cursor (`after`) is the last row's (deadline, id), so the
next page is as cheap as the first.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models import Opportunity, Task, TaskPerson, User
from models.tasks import OPEN_TASK_STATUSES, TASK_STATUSES
from services.access import scope_opportunities
from services.locale_input import InputRefused, parse_date
from services.tasks import scope_tasks
from services.validation import record_id_or_none

PAGE_SIZE = 25
VIEWS = ("mine", "involved", "all")
# An opportunity-name filter matching at most this many opportunities reads their tasks by opportunity.
MAX_OPPORTUNITY_IDS = 1000
# A source of at most this many tasks (those of a few opportunities, those I take part in) is read at once.
MAX_GATHERED = 5000
_FAR = datetime.max  # sorts after every deadline: "no deadline" comes last


@dataclass
class TaskFilters:
    """What the list shows, as read from the URL (anything unreadable is no filter)."""

    view: str = "mine"
    status: str = "open"  # open | any | one of TASK_STATUSES
    deadline_from: date | None = None
    deadline_to: date | None = None
    responsible_id: int | None = None
    opportunity: str = ""
    after: tuple[datetime | None, int] | None = None
    refused: list[str] = field(default_factory=list)  # date filters that did not read, as messages

    @property
    def statuses(self) -> tuple[str, ...]:
        if self.status == "open":
            return OPEN_TASK_STATUSES
        if self.status == "any":
            return tuple(TASK_STATUSES)
        return (self.status,)


def parse_filters(args, default_view: str = "mine") -> TaskFilters:
    """The filters in a URL's query; a date that does not read in the page's language is left out (and
    said on the page), an unknown view or status falls back to the default."""
    view = args.get("view") if args.get("view") in VIEWS else default_view
    status = args.get("status") or "open"
    if status not in TASK_STATUSES and status not in ("open", "any"):
        status = "open"
    filters = TaskFilters(view=view, status=status, opportunity=(args.get("opportunity") or "").strip()[:100],
                          responsible_id=record_id_or_none(args.get("responsible")))
    for name in ("deadline_from", "deadline_to"):
        if text := (args.get(name) or "").strip():
            try:
                setattr(filters, name, parse_date(text))
            except InputRefused as err:
                if err.message not in filters.refused:
                    filters.refused.append(err.message)
    filters.after = _parse_cursor(args.get("after"))
    return filters


def _parse_cursor(text: str | None) -> tuple[datetime | None, int] | None:
    """"<iso deadline>~<id>" or "~<id>" (no deadline); anything else is the first page."""
    if not text or "~" not in text or len(text) > 60:
        return None
    stamp, _sep, ident = text.rpartition("~")
    number = record_id_or_none(ident)
    if number is None:
        return None
    if not stamp:
        return None, number
    try:
        return datetime.fromisoformat(stamp), number
    except ValueError:
        return None


def cursor(task: Task) -> str:
    return f"{task.deadline.isoformat() if task.deadline else ''}~{task.id}"


def _tz(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day_start(day: date, user: User) -> datetime:
    """Midnight of `day` in the user's time zone, as naive UTC (deadlines are stored so)."""
    return datetime.combine(day, time(), _tz(user)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def local_to_utc(day: date, at: time, user: User) -> datetime:
    """A date and time as the user reads them (their time zone), as naive UTC."""
    return datetime.combine(day, at, _tz(user)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@dataclass
class TaskPage:
    tasks: list[Task]
    next_after: str | None
    first: bool


def _conditions(filters: TaskFilters, user: User) -> tuple[list | None, list[int] | None]:
    """The filters as conditions on Task (None: nothing can match), and the opportunity ids an
    opportunity-name filter resolved to, when few (their tasks are then read by ix_task_opportunity)."""
    conds: list = []
    if filters.deadline_from:
        conds.append(Task.deadline >= local_day_start(filters.deadline_from, user))
    if filters.deadline_to:  # inclusive: up to the end of that day in the user's time zone
        conds.append(Task.deadline < local_day_start(filters.deadline_to + timedelta(days=1), user))
    if filters.responsible_id is not None:
        conds.append(Task.responsible_id == filters.responsible_id)
    if not filters.opportunity:
        return conds, None
    match = func.lower(Opportunity.name).contains(filters.opportunity.lower(), autoescape=True)
    ids = list(db.session.execute(scope_opportunities(select(Opportunity.id).where(match), user)
                                  .limit(MAX_OPPORTUNITY_IDS + 1)).scalars())
    if not ids:
        return None, None
    if len(ids) <= MAX_OPPORTUNITY_IDS:
        return [*conds, Task.opportunity_id.in_(ids)], ids
    # Many opportunities match: the condition itself, checked per task while walking.
    return [*conds, select(Opportunity.id).where(Opportunity.id == Task.opportunity_id, match).exists()], None


def _few(stmt: Select) -> list[int] | None:
    """The ids `stmt` selects when there are at most MAX_GATHERED, else None."""
    ids = list(db.session.execute(stmt.limit(MAX_GATHERED + 1)).scalars())
    return ids if len(ids) <= MAX_GATHERED else None


def _sources(filters: TaskFilters, user: User, opp_ids: list[int] | None) -> list[tuple[Select, bool]]:
    """(select of (deadline, id), gathered?) per source (see the module docstring), each already scoped.
    A gathered source holds few rows: read at once by its key and sorted here, because a planner given
    `ORDER BY deadline LIMIT n` may prefer walking the deadline index and filtering, which reads every task
    when the few rows come late."""
    base = scope_tasks(select(Task.deadline, Task.id), user)
    statuses = Task.status.in_(filters.statuses)
    own = base if filters.view == "all" else base.where(Task.responsible_id == user.id)
    if opp_ids is not None and _few(select(Task.id).where(Task.opportunity_id.in_(opp_ids))) is not None:
        out = [(own.where(statuses), True)]
    else:
        out = [(own.where(Task.status == status), False) for status in filters.statuses]
    if filters.view == "involved":  # what I take part in: through task_person (user_id, task_id)
        mine = _few(select(TaskPerson.task_id).where(TaskPerson.user_id == user.id))
        if mine is not None:
            out.append((base.where(Task.id.in_(mine or [0]), statuses), True))
        else:
            out.append((base.join(TaskPerson, and_(TaskPerson.task_id == Task.id, TaskPerson.user_id == user.id))
                        .where(statuses), False))
    return out


def _after(after) -> list:
    """The conditions "after the cursor" for rows of either kind (dated or not)."""
    if after is None:
        return []
    if after[0] is None:
        return [Task.deadline.is_(None), Task.id > after[1]]
    return [or_(Task.deadline > after[0], and_(Task.deadline == after[0], Task.id > after[1]),
                Task.deadline.is_(None))]


def _key(row) -> tuple:
    return row[0] or _FAR, row[1]


def _walk(stmt: Select, after, limit: int, gathered: bool) -> list[tuple]:
    """Up to `limit` (deadline, id) rows of one source after the cursor, in the list's order: an index
    walk of the dated rows, then of the undated ones; or, for a gathered source, all its rows sorted here."""
    if gathered:
        return sorted(db.session.execute(stmt.where(*_after(after))).all(), key=_key)[:limit]
    rows: list[tuple] = []
    if after is None or after[0] is not None:
        dated = stmt.where(Task.deadline.is_not(None))
        if after is not None:
            dated = dated.where(or_(Task.deadline > after[0], and_(Task.deadline == after[0], Task.id > after[1])))
        rows = list(db.session.execute(dated.order_by(Task.deadline, Task.id).limit(limit)).all())
    if len(rows) < limit:
        undated = stmt.where(Task.deadline.is_(None))
        if after is not None and after[0] is None:
            undated = undated.where(Task.id > after[1])
        rows += list(db.session.execute(undated.order_by(Task.id).limit(limit - len(rows))).all())
    return rows


def task_page(filters: TaskFilters, user: User, size: int = PAGE_SIZE) -> TaskPage:
    """The page of tasks the filters name, among those the user may see."""
    conds, opp_ids = _conditions(filters, user)
    if conds is None:
        return TaskPage([], None, filters.after is None)
    walks = [_walk(src.where(*conds), filters.after, size + 1, gathered)
             for src, gathered in _sources(filters, user, opp_ids)]
    ids: list[int] = []
    for _deadline, ident in heapq.merge(*walks, key=_key):
        if ident not in ids:  # a task I am responsible for and take part in comes once
            ids.append(ident)
            if len(ids) > size:
                break
    more = len(ids) > size
    ids = ids[:size]
    found = {t.id: t for t in db.session.execute(
        select(Task).where(Task.id.in_(ids or [0]))
        .options(joinedload(Task.opportunity), joinedload(Task.responsible), joinedload(Task.substate))
    ).scalars()}
    tasks = [found[i] for i in ids if i in found]
    return TaskPage(tasks, cursor(tasks[-1]) if more and tasks else None, filters.after is None)


def responsible_choices(user: User) -> list[tuple[int, str]]:
    """Whom the Responsible filter offers: every active user to internal users; a partner user, the
    internal users and their own company's users (never another company's people)."""
    stmt = select(User.id, User.name).where(User.active.is_(True)).order_by(User.name, User.id)
    if user.is_partner:
        stmt = stmt.where(or_(User.role != "partner", and_(User.company_id == (user.company_id or -1),
                                                           User.company_id.is_not(None))))
    return [(row.id, row.name) for row in db.session.execute(stmt)]
