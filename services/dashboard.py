"""The flow dashboard (issue 14 item 7): per opportunity type, runs per day by status, the actions that fail
most with their errors, how long opportunities stay in each substate and where they stall. Every figure is
an aggregate the database computes (GROUP BY, window functions) over the opportunities the user may see
(services.access: partners their company's only), so a page reads a few hundred rows at most, however many
runs there are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Integer, and_, case, func, select
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from extensions import db
from models import Action, ActionRun, Opportunity, OpportunitySubstate, OpportunityType, State, Substate, User
from models.base import utcnow
from services.access import scope_opportunities
from services.calendar import to_utc, zone_of

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
# Statuses in the order the stacked bars pile them up (bottom first): finished ones, then the waiting ones.
STATUS_ORDER = ("succeeded", "failed", "needs_review", "skipped", "cancelled", "pending", "scheduled", "running",
                "sending")
FAILED = ("failed", "needs_review")
TOP_ACTIONS = 10
ERRORS_PER_ACTION = 3
# A substate's p90 is its stall threshold once this many stays have closed; before that, STALL_DAYS.
MIN_SAMPLE = 5
STALL_DAYS = 14
TOP_STALLS = 10
# The stays read for the percentiles (a type with more ended stays in the period is measured on these).
MAX_STAYS = 200_000


def period_of(raw) -> int:
    """The chosen period in days: one of PERIODS, else the default (a link or a hand-typed URL)."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return DEFAULT_PERIOD
    return value if value in PERIODS else DEFAULT_PERIOD


# -- SQL that differs between SQLite and PostgreSQL --------------------------------------------------------

def _dialect() -> str:
    return db.session.get_bind().dialect.name


def day_of(column: ColumnElement, offset_minutes: int) -> ColumnElement:
    """The local calendar day of a naive UTC timestamp as 'YYYY-MM-DD' text, the same on both databases
    (SQLite's date() with a modifier; PostgreSQL's to_char over the timestamp plus an interval)."""
    if _dialect() == "sqlite":
        return func.date(column, f"{offset_minutes:+d} minutes")
    return func.to_char(column + timedelta(minutes=offset_minutes), "YYYY-MM-DD")


def seconds_between(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """end - start in seconds (a float), on both databases."""
    if _dialect() == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


# -- the period ---------------------------------------------------------------------------------------------

@dataclass
class Window:
    """The period in the user's time zone: its days, its first instant in UTC and the zone's offset now."""

    days: list[date]
    start: datetime
    offset_minutes: int


def window(user: User, period: int, now: datetime | None = None) -> Window:
    """The last `period` days up to today where the user is. Days are cut at the zone's offset of today
    (a day-light-saving change inside the period moves at most an hour of runs to the neighbouring day)."""
    tz = zone_of(user)
    local_now = (now or utcnow()).replace(tzinfo=UTC).astimezone(tz)
    offset = local_now.utcoffset()
    offset_minutes = int(offset.total_seconds() // 60) if offset else 0
    first = local_now.date() - timedelta(days=period - 1)
    return Window([first + timedelta(days=i) for i in range(period)], to_utc(first, tz), offset_minutes)


def _runs(opp_type: OpportunityType, user: User, *columns):
    """select(columns) over the type's runs on opportunities the user may see."""
    run_opportunity: ColumnElement = ActionRun.opportunity_id
    if _dialect() == "sqlite" and not user.is_partner:
        # SQLite would start from the type's opportunities and read every run of each (the whole history);
        # a unary + keeps it off the opportunity index, so it reads the period's runs by ix_action_run_created
        # and looks each opportunity up by key. A partner's few opportunities are the better start: left as is.
        run_opportunity = UnaryExpression(run_opportunity, operator=custom_op("+"), type_=Integer)
    stmt = (select(*columns).select_from(ActionRun).join(Opportunity, Opportunity.id == run_opportunity)
            .where(Opportunity.type_id == opp_type.id))
    return scope_opportunities(stmt, user)


# -- runs per day ---------------------------------------------------------------------------------------------

@dataclass
class RunsPerDay:
    days: list[date]
    statuses: list[str]  # those with at least one run, in STATUS_ORDER
    counts: dict[date, dict[str, int]]
    total: int

    def day_total(self, day: date) -> int:
        return sum(self.counts.get(day, {}).values())


def runs_per_day(opp_type: OpportunityType, user: User, win: Window) -> RunsPerDay:
    """Runs created on each day of the period, by status (one GROUP BY day, status)."""
    day = day_of(ActionRun.created_at, win.offset_minutes).label("day")
    stmt = (_runs(opp_type, user, day, ActionRun.status, func.count())
            .where(ActionRun.created_at >= win.start).group_by(day, ActionRun.status))
    counts: dict[date, dict[str, int]] = {}
    wanted = set(win.days)
    for raw, status, n in db.session.execute(stmt):
        when = date.fromisoformat(str(raw)[:10])
        if when in wanted:  # a run created "in the future" (clock skew) is no day of the chart
            counts.setdefault(when, {})[status] = n
    present = {s for per in counts.values() for s in per}
    statuses = [s for s in STATUS_ORDER if s in present] + sorted(present - set(STATUS_ORDER))
    total = sum(n for per in counts.values() for n in per.values())
    return RunsPerDay(win.days, statuses, counts, total)


# -- failing actions ------------------------------------------------------------------------------------------

@dataclass
class FailingAction:
    action_id: int | None
    kind: str
    action: Action | None
    counts: dict[str, int] = field(default_factory=dict)  # failed / needs_review
    errors: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def failing_actions(opp_type: OpportunityType, user: User, win: Window) -> list[FailingAction]:
    """The TOP_ACTIONS actions with most failed or needs-review runs in the period, each with its most
    frequent errors (a run without an action, e.g. a trigger's or a deleted action's, counts by kind)."""
    failing = and_(ActionRun.created_at >= win.start, ActionRun.status.in_(FAILED))
    message = func.coalesce(ActionRun.error, ActionRun.reason, "")
    # One pass over the period's failed runs: counts by action, status and message, summed up here.
    stmt = (_runs(opp_type, user, ActionRun.action_id, ActionRun.kind, ActionRun.status, message, func.count())
            .where(failing).group_by(ActionRun.action_id, ActionRun.kind, ActionRun.status, message))
    found: dict[tuple, FailingAction] = {}
    messages: dict[tuple, dict[str, int]] = {}
    for action_id, kind, status, text, n in db.session.execute(stmt):
        item = found.setdefault((action_id, kind), FailingAction(action_id, kind, None))
        item.counts[status] = item.counts.get(status, 0) + n
        per = messages.setdefault((action_id, kind), {})
        per[text] = per.get(text, 0) + n
    top = sorted(found.values(), key=lambda a: (-a.total, a.kind, a.action_id or 0))[:TOP_ACTIONS]
    for item in top:
        ranked = sorted(messages[(item.action_id, item.kind)].items(), key=lambda m: (-m[1], m[0]))
        item.errors = ranked[:ERRORS_PER_ACTION]
    ids = [a.action_id for a in top if a.action_id is not None]
    actions = {a.id: a for a in db.session.execute(select(Action).where(Action.id.in_(ids))).scalars()} if ids else {}
    for item in top:
        item.action = actions.get(item.action_id)
    return top


# -- time in substates ----------------------------------------------------------------------------------------

@dataclass
class SubstateTimes:
    substate: Substate
    closed: int = 0  # stays that closed in the period
    median: float | None = None  # seconds
    p90: float | None = None
    open_now: int = 0
    stalled: int = 0
    threshold: float = STALL_DAYS * 86400.0  # seconds an open stay may last before it counts as stalled
    threshold_is_p90: bool = False


def nearest_rank(ordered: list[float], percent: int) -> float:
    """The percentile of sorted values by nearest rank: the value at position ceil(n·p/100)."""
    return ordered[max(1, (len(ordered) * percent + 99) // 100) - 1]


def substate_times(opp_type: OpportunityType, user: User, win: Window, now: datetime | None = None) -> list[SubstateTimes]:
    """Per substate of the type, in flow order: median and p90 (nearest rank) of the stays that ended in
    the period (opened → closed, as OpportunitySubstate records them), how many stays are open now, and how
    many of those have lasted longer than the substate's p90 (STALL_DAYS while fewer than MIN_SAMPLE closed)."""
    now = now or utcnow()
    subs = list(db.session.execute(
        select(Substate).join(State, State.id == Substate.state_id).where(State.type_id == opp_type.id)
        .order_by(State.position, State.id, Substate.position, Substate.id)).scalars())
    rows = {s.id: SubstateTimes(s) for s in subs}
    if not rows:
        return []
    OS = OpportunitySubstate
    # Percentiles in Python over the stays' durations (one float per stay, computed by the database): sorting
    # ~50,000 floats is faster here than the window functions both databases offer, and reads the same rows.
    stays = scope_opportunities(
        select(OS.substate_id, seconds_between(OS.opened_at, OS.closed_at))
        .join(Opportunity, Opportunity.id == OS.opportunity_id)
        .where(Opportunity.type_id == opp_type.id, OS.substate_id.in_(rows), OS.status == "closed",
               OS.opened_at.is_not(None), OS.closed_at >= win.start, OS.closed_at >= OS.opened_at), user)
    durations: dict[int, list[float]] = {}
    for sid, secs in db.session.execute(stays.limit(MAX_STAYS)):
        durations.setdefault(sid, []).append(float(secs))
    for sid, values in durations.items():
        values.sort()
        row = rows[sid]
        row.closed, row.median, row.p90 = len(values), nearest_rank(values, 50), nearest_rank(values, 90)
        if row.closed >= MIN_SAMPLE:
            row.threshold, row.threshold_is_p90 = max(row.p90, 1.0), True
    # An open stay is stalled when it opened before now minus its substate's threshold: one CASE per substate.
    cutoff = case({sid: now - timedelta(seconds=r.threshold) for sid, r in rows.items()}, value=OS.substate_id)
    open_stmt = scope_opportunities(
        select(OS.substate_id, func.count(), func.sum(case((OS.opened_at < cutoff, 1), else_=0)))
        .join(Opportunity, Opportunity.id == OS.opportunity_id)
        .where(Opportunity.type_id == opp_type.id, OS.substate_id.in_(rows), OS.status == "open",
               OS.opened_at.is_not(None)).group_by(OS.substate_id), user)
    for sid, n, stalled in db.session.execute(open_stmt):
        rows[sid].open_now, rows[sid].stalled = n, int(stalled or 0)
    # Archived substates only when they still hold figures.
    return [r for r in rows.values() if not (r.substate.archived or r.substate.state.archived) or r.closed or r.open_now]


def stalls(times: list[SubstateTimes]) -> list[SubstateTimes]:
    """The substates holding the most stalled opportunities, most first."""
    return sorted((t for t in times if t.stalled), key=lambda t: -t.stalled)[:TOP_STALLS]


# -- which types --------------------------------------------------------------------------------------------

def visible_types(user: User) -> list[OpportunityType]:
    """The types a dashboard can be opened for: every type for internal users, active first; for partners
    the types of the opportunities they may see."""
    stmt = select(OpportunityType).order_by(OpportunityType.archived, OpportunityType.name)
    if user.is_partner:
        stmt = stmt.where(OpportunityType.id.in_(scope_opportunities(select(Opportunity.type_id), user)))
    return list(db.session.execute(stmt).scalars())


def type_for(user: User, type_id: int) -> OpportunityType | None:
    """The type if the user may open its dashboard (partners: one of their opportunities is of it)."""
    opp_type = db.session.get(OpportunityType, type_id)
    if opp_type is None or not user.is_partner:
        return opp_type
    mine = scope_opportunities(select(Opportunity.id).where(Opportunity.type_id == type_id), user).limit(1)
    return opp_type if db.session.execute(mine).first() else None


@dataclass
class Dashboard:
    opp_type: OpportunityType
    period: int
    window: Window
    runs: RunsPerDay
    failing: list[FailingAction]
    times: list[SubstateTimes]
    stalls: list[SubstateTimes]

    @property
    def empty(self) -> bool:
        return not self.runs.total and not self.failing and not any(t.closed or t.open_now for t in self.times)


def build(opp_type: OpportunityType, user: User, period: int, now: datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for one type and period, as `user` may see them."""
    win = window(user, period, now)
    times = substate_times(opp_type, user, win, now)
    return Dashboard(opp_type, period, win, runs_per_day(opp_type, user, win), failing_actions(opp_type, user, win),
                     times, stalls(times))
