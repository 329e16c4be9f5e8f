"""The action history's tabs as a registry (SPEC H1–H3): one small module per tab declares its query over
runs joined to its detail table and its columns; the pages, the filters, the sorting, the paging and the
partner scoping are written once here. A new tab (Reports, Exports, Signatures…) is one new module that
calls `register`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from extensions import db
from models import ActionRun, Opportunity, User
from models.runs import RUN_STATUSES
from services.access import scope_opportunities
from services.history import keyset, sorted_page
from services.history.shown import run_status_shown
from services.locale_input import InputRefused, parse_date

PAGE_SIZE = 50
MAX_OFFSET_PAGES = 200  # offset paging (non-default sorts) stops here; newest-first uses the id keyset
MAX_OPTIONS = 200
# Select options computed from an expression come from the newest runs of the tab, this many per kind.
OPTIONS_SCAN = 5_000
# A text filter (a contains, no index can answer it) reads at most this many runs of each kind per request;
# when that does not fill the page, the page says so and offers to search older runs (keyset `before`).
SCAN_LIMIT = 25_000


@dataclass
class Column:
    """A column: what it shows (`value(row)`), what it filters and sorts on (`expr`)."""

    key: str
    label: object
    expr: ColumnElement | None
    value: Callable
    filter: str | None = "text"  # text | select | date | None
    options: dict | None = None  # fixed select options; None: the distinct values the user may see
    sortable: bool = True
    # Shown text of those distinct values, e.g. a catalog name in the user's language: values -> {value: text}
    option_labels: Callable[[list[str]], dict[str, str]] | None = None
    # What the cell shows, in SQL, when `expr` is not it (a label in the user's language, a fallback value):
    # the sort orders by it. Called per request, since the words depend on the user's language.
    shown: Callable[[], ColumnElement] | None = None
    # A text filter's condition for the typed text when a contains on `expr` would miss what the cell shows
    # (a catalog name as another language shows it).
    match: Callable[[str], ColumnElement] | None = None
    # Where the cell links to (row -> URL, None for no link), e.g. a task's page.
    link: Callable | None = None

    def sort_expr(self) -> ColumnElement:
        """What the sort orders by: the shown text, case-insensitively (a date as itself)."""
        expr = self.shown() if self.shown is not None else self.expr
        return expr if self.filter == "date" else func.lower(expr)


@dataclass
class Tab:
    key: str
    label: object
    kinds: tuple[str, ...]
    columns: list[Column]
    # Extra entities after ActionRun and Opportunity.name, and the joins that bring them.
    entities: tuple = ()
    join: Callable[[Select], Select] = lambda stmt: stmt
    # Keyset tie-breaker for tabs with several detail rows per run (e.g. one per email sent).
    detail_id: ColumnElement | None = None
    # status filter: key -> (label, condition)
    statuses: dict = field(default_factory=dict)
    status: Callable | None = None  # row -> (label, css) as the seed shows it
    position: int = 100
    # Narrower rows for partner users on top of the opportunity scoping (e.g. only their own assignments).
    partner_only: Callable[[User], ColumnElement] | None = None
    # The words above the table for how many rows match the filters ((count, capped) -> text), when the
    # tab counts them (History entries: "how many times was the rule broken").
    count_text: Callable[[int, bool], str] | None = None


TABS: dict[str, Tab] = {}


def register(tab: Tab) -> Tab:
    """Add a tab to the history."""
    TABS[tab.key] = tab
    return tab


def tabs() -> list[Tab]:
    """The tabs in display order."""
    return sorted(TABS.values(), key=lambda t: t.position)


def run_statuses(*keys: str) -> dict:
    """Status filter options straight from the run's status."""
    return {k: (RUN_STATUSES[k], ActionRun.status == k) for k in keys}


def base_query(tab: Tab, user: User) -> Select:
    """The tab's rows the user may see: runs of its kinds, joined to its details, scoped (H3)."""
    return _base(tab, user, tab.kinds)


def _base(tab: Tab, user: User, kinds: tuple[str, ...], partner_rule=None) -> Select:
    """base_query for some of the tab's kinds; `partner_rule` an equivalent form of the tab's partner rule."""
    stmt = select(ActionRun, Opportunity.name, *tab.entities).join(Opportunity, Opportunity.id == ActionRun.opportunity_id)
    # One kind as an equality: the (kind, …, id) indexes then give the newest-first order without sorting.
    kind = ActionRun.kind == kinds[0] if len(kinds) == 1 else ActionRun.kind.in_(kinds)
    stmt = tab.join(stmt.where(kind))
    if user.is_partner and tab.partner_only is not None:
        stmt = stmt.where(partner_rule if partner_rule is not None else tab.partner_only(user))
    return scope_opportunities(stmt, user)


def _parse_date(value: str | None) -> datetime | None:
    # ISO or the page language's format (services.locale_input); a refused date is no filter (the page says so).
    try:
        return datetime.combine(parse_date(value), time()) if value else None
    except InputRefused:
        return None


def apply_filters(tab: Tab, stmt: Select, args) -> Select:
    """Text contains, select equals, date ranges (from/to inclusive) and the status filter."""
    conditions = filter_conditions(tab, args)
    return stmt.where(*conditions) if conditions else stmt


def filter_conditions(tab: Tab, args) -> list[ColumnElement]:
    """The conditions of the filters set in `args`, one per filter."""
    return [cond for _key, cond in _filter_items(tab, args)]


def _filter_items(tab: Tab, args) -> list[tuple[str, ColumnElement]]:
    out = []
    # One automatic action's runs (the flow dashboard links here); no visible field, the page names it.
    if (action_id := action_filter(args)) is not None:
        out.append(("action_id", ActionRun.action_id == action_id))
    for col in tab.columns:
        if col.filter == "text" and (val := (args.get(col.key) or "").strip()[:100]):
            out.append((col.key, col.match(val) if col.match is not None
                        else func.lower(col.expr).contains(val.lower(), autoescape=True)))
        elif col.filter == "select" and (val := args.get(col.key)):
            if col.options is not None:
                if val in col.options:
                    out.append((col.key, col.options[val][1]))
            else:
                out.append((col.key, col.expr == val[:255]))
        elif col.filter == "date":
            if start := _parse_date(args.get(f"{col.key}_from")):
                out.append((col.key, col.expr >= start))
            if end := _parse_date(args.get(f"{col.key}_to")):
                out.append((col.key, col.expr < end + timedelta(days=1)))
    return out


def action_filter(args) -> int | None:
    """The `action_id` argument as a record id, None when absent or not one."""
    raw = (args.get("action_id") or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31 else None


@dataclass
class Page:
    rows: list
    sort: str
    desc: bool
    next_before: str | None = None
    next_page: int | None = None
    prev_page: int | None = None
    page: int = 1
    partial: bool = False  # the search stopped at SCAN_LIMIT: older runs not searched yet (next_before)


def _order_keys(tab: Tab):
    keys = [ActionRun.id]
    if tab.detail_id is not None:
        keys.append(func.coalesce(tab.detail_id, 0))
    return keys


def page(tab: Tab, user: User, args) -> Page:
    """One page: newest first by an "older than" keyset on ids, else offset paging up to a limit."""
    columns = {c.key: c for c in tab.columns if c.sortable and c.expr is not None}
    sort = args.get("sort") if args.get("sort") in columns else ""
    desc = args.get("dir", "desc") != "asc"
    if not sort:
        return _newest_first(tab, user, args)
    number = min(max(args.get("page", 1, type=int) or 1, 1), MAX_OFFSET_PAGES)
    # Sorted over narrow rows with only the joins needed, then the page's 50 rows loaded (sorted_page).
    conditions = filter_conditions(tab, args)
    partner = tab.partner_only(user) if user.is_partner and tab.partner_only is not None else None
    found = sorted_page.sorted_keys(tab, user, conditions, columns[sort].sort_expr(), desc,
                                    (number - 1) * PAGE_SIZE, PAGE_SIZE + 1, partner,
                                    by_kind=columns[sort].filter == "date")
    rows = sorted_page.load_rows(tab, base_query(tab, user), found[:PAGE_SIZE])
    result = Page(rows, sort, desc, page=number)
    result.prev_page = number - 1 if number > 1 else None
    result.next_page = number + 1 if len(found) > PAGE_SIZE and number < MAX_OFFSET_PAGES else None
    return result


def _newest_first(tab: Tab, user: User, args) -> Page:
    """Newest first, shaped so that each query walks an index backwards and stops after one page
    (services.history.keyset says how): the detail table's run id as the key when the filters need a
    detail row; else one query per kind, merged, over windows of that kind's newest runs; catalog and
    opportunity names resolved to ids first."""
    items = _filter_items(tab, args)
    text_keys = {col.key for col in tab.columns if col.filter == "text"}
    bounded = any(key in text_keys for key, _cond in items)
    # A partner rule that holds only on rows with a detail row (Notifications: addressed to them) is such a
    # filter too: their few rows then come from the detail's index, not from a walk over every run.
    partner = [tab.partner_only(user)] if user.is_partner and tab.partner_only is not None else []
    detail = keyset.required_detail(tab, [cond for _key, cond in items] + partner)
    # Equivalent conditions an index answers replace the filters they stand for (kept side by side,
    # PostgreSQL would count their selectivity twice and misjudge the plan).
    replaced, by_opportunity = keyset.resolved(tab, user, args)
    conditions = [replaced.get(key, cond) for key, cond in items]
    keys, partner_rule = _order_keys(tab), None
    if detail is not None:
        keys = [detail.c.run_id] + ([tab.detail_id] if tab.detail_id is not None else [])
        conditions.append(keyset.inner_join(detail))
        if user.is_partner and tab.partner_only is not None:
            partner_rule = keyset.without_missing_detail(tab.partner_only(user), detail)
    before = _parse_before(args.get("before"), len(_order_keys(tab)))
    if before:
        conditions.append(_keyset_before(keys, before))
    order = [k.desc() for k in keys]
    if detail is not None:
        # The detail's index gives the order: one query for all kinds (one per kind would read the whole
        # index for a kind without matches).
        stmt = _base(tab, user, tab.kinds, partner_rule).where(*conditions)
        floors = []
        if bounded and not by_opportunity:
            floor = _scan_floor(tab.kinds, before[0] if before else None)
            if floor is not None:
                stmt, floors = stmt.where(keys[0] >= floor), [floor]
        rows = db.session.execute(stmt.order_by(*order).limit(PAGE_SIZE + 1)).all()
    else:
        # One query per kind, each walking its (kind, id) index (an IN list of kinds can't give the order).
        rows, floors = [], []
        for kind in keyset.possible_kinds(tab.kinds, conditions):
            stmt = _base(tab, user, (kind,)).where(*conditions)
            found, floor = _walk(stmt, order, kind, before[0] if before else None, windowed=not by_opportunity,
                                 bounded=bounded)
            rows += found
            floors += [floor] if floor is not None else []
        rows.sort(key=lambda row: _row_keys(tab, row), reverse=True)
    return _cut(tab, rows, max(floors) if floors else None)


def _cut(tab: Tab, rows: list, searched_to: int | None) -> Page:
    """The page out of the newest rows found. When a bounded search stopped (runs from `searched_to` up
    were searched) and did not fill the page, the page holds only rows from there up, and "older"
    continues below it: no row is skipped and none comes twice."""
    if searched_to is not None:
        rows = [row for row in rows if row[0].id >= searched_to]
    result = Page(rows[:PAGE_SIZE], "", True)
    if len(rows) > PAGE_SIZE:
        result.next_before = ".".join(str(v) for v in _row_keys(tab, result.rows[-1]))
    elif searched_to is not None:
        result.partial = True
        result.next_before = ".".join([str(searched_to)] + ["0"] * (len(_order_keys(tab)) - 1))
    return result


def _scan_floor(kinds, before: int | None) -> int | None:
    """The lowest id among the SCAN_LIMIT newest runs of each kind (below `before`): a bounded search
    reads from there up. None when every kind has fewer (the search then reads them all)."""
    floors = [keyset.window_floor(kind, SCAN_LIMIT, before) for kind in kinds]
    floors = [f for f in floors if f is not None]
    return min(floors) if len(floors) == len(kinds) else None


def _walk(stmt: Select, order: list, kind: str, before: int | None, windowed: bool,
          bounded: bool = False) -> tuple[list, int | None]:
    """The newest rows of one kind: over windows of its newest runs (5,000, then 4 times more each time),
    so that no filter the planner misjudges (e.g. on a JSON value) makes it read and sort every run of the
    kind; the first window usually holds the page. Not windowed when an id list already drives it.
    `bounded` stops after SCAN_LIMIT runs; returns the rows and, when it stopped early, the lowest id read."""
    if not windowed:
        return db.session.execute(stmt.order_by(*order).limit(PAGE_SIZE + 1)).all(), None
    rows: list = []
    upper, size, scanned = (before + 1 if before is not None else None), keyset.WINDOW, 0
    while True:
        if bounded:
            size = min(size, SCAN_LIMIT - scanned)
        floor = keyset.window_floor(kind, size, upper)
        window = stmt
        if upper is not None:
            window = window.where(ActionRun.id < upper)
        if floor is not None:
            window = window.where(ActionRun.id >= floor)
        rows += db.session.execute(window.order_by(*order).limit(PAGE_SIZE + 1 - len(rows))).all()
        if len(rows) > PAGE_SIZE or floor is None:
            return rows, None
        scanned += size
        if bounded and scanned >= SCAN_LIMIT:
            return rows, floor
        upper, size = floor, size * keyset.GROWTH


def _row_keys(tab: Tab, row) -> list[int]:
    keys = [row[0].id]
    if tab.detail_id is not None:
        detail = row[2]
        keys.append(detail.id if detail is not None else 0)
    return keys


def _parse_before(raw: str | None, size: int) -> list[int] | None:
    try:
        values = [int(v) for v in (raw or "").split(".")]
    except ValueError:
        return None
    return values if len(values) == size else None


def _keyset_before(keys, values):
    if len(keys) == 1:
        return keys[0] < values[0]
    return or_(keys[0] < values[0], and_(keys[0] == values[0], keys[1] < values[1]))


def options(tab: Tab, user: User) -> dict[str, list[tuple[str, str]]]:
    """The select filters' options: fixed ones, or the distinct values among the rows the user may see
    (so no other company's template or credentials name reaches a partner through a select)."""
    out = {}
    for col in tab.columns:
        if col.filter != "select":
            continue
        if col.options is not None:
            out[col.key] = [(k, str(v[0])) for k, v in col.options.items()]
            continue
        values = keyset.visible_values(tab, user, col, _base(tab, user, tab.kinds), MAX_OPTIONS)
        if values is None:  # not a plain column: the distinct values of the (newest) rows themselves
            stmt = keyset.lean_rows(tab, user, col.expr, tab.kinds)
            if stmt is None:
                stmt = base_query(tab, user).with_only_columns(col.expr)
            # An expression (e.g. a JSON value or a joined name) has no index to hop along: read the newest
            # runs only, so that a full page stays fast at a million runs.
            if (bound := keyset.newest_runs_bound(tab.kinds, OPTIONS_SCAN)) is not None:
                stmt = stmt.where(bound)
            stmt = stmt.where(col.expr.is_not(None)).distinct()
            values = db.session.execute(stmt.order_by(col.expr).limit(MAX_OPTIONS)).scalars()
        values = [str(v) for v in values]
        labels = col.option_labels(values) if col.option_labels and values else {}
        out[col.key] = [(v, labels.get(v, v)) for v in values]
    return out


COUNT_CAP = 10_000


def count(tab: Tab, user: User, args, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows the filters match, counted up to `cap` (so a count never reads a million rows):
    (count, whether there are more)."""
    conditions = filter_conditions(tab, args)
    # The joins the filters need, said again as plain conditions: the planner may start from the table that
    # narrows most (the entries, a user by name) instead of looking each run's rows up.
    conditions += keyset.needed_joins(tab, conditions)
    stmt = base_query(tab, user).where(*conditions).with_only_columns(ActionRun.id).limit(cap + 1)
    found = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return min(found, cap), found > cap


def count_text(tab: Tab, user: User, args) -> str | None:
    """The tab's count of matching rows in words, None for a tab that does not count."""
    if tab.count_text is None:
        return None
    return tab.count_text(*count(tab, user, args))


def run_status(run: ActionRun) -> tuple[str, str]:
    """A run's own status label and css class (pending, scheduled, cancelled, failed…)."""
    return run.status_label, run.status


STATUS_COLUMN_LABEL = _l("Status")
WHEN_LABEL = _l("Date")
OPPORTUNITY_LABEL = _l("Opportunity")


def opportunity_column() -> Column:
    """The opportunity's name, filtered by contains."""
    return Column("opportunity", OPPORTUNITY_LABEL, Opportunity.name, lambda row: row[1])


def when_column() -> Column:
    """When the run was created (date range filter)."""
    return Column("when", WHEN_LABEL, ActionRun.created_at, lambda row: row[0].created_at, filter="date")


def status_column(statuses: dict, value: Callable, shown: Callable[[], ColumnElement] | None = None) -> Column:
    """The status as the seed words it for the tab, filterable by the tab's status options; `shown` the same
    words in SQL (for the sort), by default the run's own status label."""
    return Column("status", STATUS_COLUMN_LABEL, ActionRun.status, value, filter="select", options=statuses,
                  shown=shown or run_status_shown)


def waiting_or_ended(row, done: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """Succeeded runs say what the tab's seed column says; the others their run status."""
    run = row[0]
    return done() if run.status == "succeeded" else run_status(run)


COMMON_STATUSES = ("pending", "scheduled", "running", "cancelled", "skipped", "failed", "needs_review")


def timeline(opportunity_id: int, limit: int = 200) -> list[ActionRun]:
    """Every run of one (already authorised) opportunity, newest first."""
    stmt = select(ActionRun).where(ActionRun.opportunity_id == opportunity_id).order_by(ActionRun.id.desc())
    return list(db.session.execute(stmt.limit(limit)).scalars())
