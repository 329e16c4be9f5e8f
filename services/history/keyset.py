"""How the history's newest-first page stays fast at a million runs (issue 6, docs/performance.md).

The page is "the 50 newest rows that pass the filters". Both databases answer that in a few milliseconds
when they can walk an index backwards and stop after 50 rows; they get slow when they pick the rows by a
filter first and then sort them all. SQLite never infers that `detail.run_id` orders like `action_run.id`
and both planners misjudge `name LIKE '%…%'`, so the registry shapes the query instead of hoping:

- `required_detail`: when the filters can only hold on rows that have a detail row (an email, an
  assignment…), the key is the detail's `run_id` (equal to the run id through the join), so an index
  such as outgoing_email(status, run_id, id) gives the order and the walk stops at one page;
- `resolved`: a select filter on a catalog name joined from the detail (partner company, activity type)
  becomes a condition on the detail's foreign key, and an opportunity-name filter matching few
  opportunities becomes `opportunity_id IN (…)` of the opportunities the user may see — index lookups;
- the run walk (registry._walk) reads windows of a kind's newest runs, so that a filter the planner
  misjudges (a JSON value, a partner's scope) cannot make it read and sort every run of the kind.

Every rewritten condition is equivalent to the filter it replaces, so the rows are the same; only the
planner gets a cheaper path. Anything not recognised keeps the plain plan.

The select filters' options (`visible_values`) are the column's distinct values found by hopping along its
index, each kept only if one row the user may see has it (an indexed EXISTS): a partner never gets another
company's value, and no DISTINCT reads a million rows. An expression column has no index to hop along: its
DISTINCT joins only what it needs (`lean_rows`) over the newest runs (`newest_runs_bound`).
"""

from __future__ import annotations

from sqlalchemy import (
    BinaryExpression,
    BooleanClauseList,
    Column,
    ColumnElement,
    Select,
    Table,
    false,
    func,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.functions import Function
from sqlalchemy.sql.util import find_tables

from extensions import db
from models import ActionRun, Opportunity
from services.access import scope_opportunities

# An opportunity-name filter matching at most this many opportunities is turned into an id list.
MAX_OPPORTUNITY_IDS = 1000
MAX_CATALOG_IDS = 50
# Distinct values a select's options are picked from (each checked against the rows the user may see).
CANDIDATES = 1000
# The newest-first walk over runs reads windows of this many runs of a kind, growing by GROWTH.
WINDOW = 5000
GROWTH = 4
# Functions that give NULL for a NULL argument (so a condition on them still needs the row).
STRICT_FUNCTIONS = {"lower", "upper", "trim"}
NULL_TESTS = {operators.is_, operators.is_not_distinct_from, operators.is_distinct_from}

_JOINS: dict[str, list] = {}


def _join_list(tab) -> list[tuple]:
    """(table, join condition, outer?) for each join of the tab after opportunity, in order (computed once)."""
    if tab.key not in _JOINS:
        stmt = tab.join(select(ActionRun).join(Opportunity, Opportunity.id == ActionRun.opportunity_id))
        found: list[tuple] = []

        def walk(node):
            if hasattr(node, "left") and hasattr(node, "onclause"):
                walk(node.left)
                found.append((_table(node.right), node.onclause, node.isouter and not node.full))

        for frm in stmt.get_final_froms():
            walk(frm)
        _JOINS[tab.key] = found[1:]
    return _JOINS[tab.key]


def _table(table):
    """The plain table behind an ORM-annotated one (identity comparisons below need it)."""
    return table._deannotate() if hasattr(table, "_deannotate") else table


def _joins(tab) -> dict[Table, ColumnElement]:
    """Each table the tab joins, with its join condition."""
    return {right: on for right, on, _outer in _join_list(tab) if isinstance(right, Table)}


def lean_rows(tab, user, expr, kinds) -> Select | None:
    """`select(expr)` over the tab's rows the user may see with only the joins `expr` and the partner rule
    need: an outer join of another table adds no row a DISTINCT would keep (and removes none), so a
    select's distinct values need not pay for it. None if the tab's joins are not plain tables."""
    joins = _join_list(tab)
    if any(not isinstance(right, Table) for right, _on, _outer in joins):
        return None
    partner = tab.partner_only(user) if user.is_partner and tab.partner_only is not None else None
    needed = set(find_tables(_plain(expr), check_columns=True))
    if partner is not None:
        needed |= set(find_tables(partner, check_columns=True))
    kept = []
    for right, on, outer in reversed(joins):
        if right in needed or not outer:
            kept.append((right, on, outer))
            needed |= set(find_tables(on, check_columns=True))
    stmt = select(expr).select_from(ActionRun).join(Opportunity, Opportunity.id == ActionRun.opportunity_id)
    for right, on, outer in reversed(kept):
        stmt = stmt.join(right, on, isouter=outer)
    stmt = stmt.where(ActionRun.kind.in_(kinds))
    if partner is not None:
        stmt = stmt.where(partner)
    return scope_opportunities(stmt, user)


def _equality(clause, a: Column, b: Column) -> bool:
    return (isinstance(clause, BinaryExpression) and clause.operator is operators.eq
            and {clause.left, clause.right} == {a, b})


def detail_table(tab) -> Table | None:
    """The tab's detail table, if it is joined by `detail.run_id = action_run.id` (one row per run or,
    with `detail_id` on the same table, several)."""
    entity = inspect(tab.entities[0], raiseerr=False) if tab.entities else None
    table = getattr(entity, "local_table", None) if getattr(entity, "is_mapper", False) else None
    if table is None or "run_id" not in table.c:
        return None
    if not _equality(_joins(tab).get(table), table.c.run_id, ActionRun.__table__.c.id):
        return None
    if tab.detail_id is not None and _table(getattr(tab.detail_id, "table", None)) is not table:
        return None
    return table


def _catalog_key(tab, detail: Table, table: Table) -> tuple[Column, Column] | None:
    """(detail foreign key, catalog primary key) when `table` is joined only through the detail's key."""
    onclause = _joins(tab).get(table)
    for fk in detail.foreign_keys:
        if fk.column.table is table and _equality(onclause, fk.parent, fk.column):
            return fk.parent, fk.column
    return None


def _needs(cond, tables: set) -> bool:
    """Whether `cond` is false (or NULL) whenever every column of `tables` is NULL, i.e. holds only on
    rows where one of those tables was joined. Conservative: False when unsure."""
    while isinstance(cond, Grouping):
        cond = cond.element
    if isinstance(cond, BooleanClauseList):
        parts = [_needs(c, tables) for c in cond.clauses]
        return any(parts) if cond.operator is operators.and_ else all(parts) and bool(parts)
    if isinstance(cond, BinaryExpression):
        if cond.operator in NULL_TESTS:
            return False
        if cond.operator is operators.is_not:
            return _strict_column(cond.left, tables)
        return _strict_column(cond.left, tables) or _strict_column(cond.right, tables)
    return False


def _strict_column(expr, tables: set) -> bool:
    while isinstance(expr, Grouping):
        expr = expr.element
    if isinstance(expr, Function) and expr.name.lower() in STRICT_FUNCTIONS:
        args = list(expr.clauses)
        return len(args) == 1 and _strict_column(args[0], tables)
    return isinstance(expr, Column) and _table(expr.table) in tables


def inner_join(detail: Table) -> ColumnElement:
    """The detail's join condition again, in WHERE: already implied when the detail row is required, it
    tells SQLite (which keeps an outer join unless a plain comparison proves the row exists) that it may
    start from the detail's index."""
    return detail.c.run_id == ActionRun.__table__.c.id


def needed_joins(tab, conditions: list) -> list[ColumnElement]:
    """The join conditions of the tables the filters can only hold with (the detail, a catalog joined through
    it), to repeat in WHERE: SQLite then treats those outer joins as inner ones and may start from the
    smallest (e.g. the users whose name matches, then their entries by the author index)."""
    joins = _joins(tab)
    needed = [table for table in joins if any(_needs(c, {table}) for c in conditions)]
    detail = detail_table(tab)
    if detail is not None and detail not in needed and any(_catalog_key(tab, detail, t) for t in needed):
        needed.append(detail)  # a catalog joined through the detail is there only with its detail row
    return [joins[table] for table in needed]


def required_detail(tab, conditions: list) -> Table | None:
    """The detail table when the filters only hold on rows that have a detail row (or a catalog row
    joined through it), else None."""
    detail = detail_table(tab)
    if detail is None:
        return None
    tables = {detail} | {t for t in _joins(tab) if t is not detail and _catalog_key(tab, detail, t)}
    return detail if any(_needs(c, tables) for c in conditions) else None


def without_missing_detail(cond, detail: Table):
    """`cond` with its "detail column IS NULL" alternatives dropped, for rows known to have a detail row
    (a NOT NULL column is then never NULL): e.g. a partner's "no assignment yet, or ours" becomes "ours",
    which the (company_id, run_id) index answers. None when nothing simplifies."""
    while isinstance(cond, Grouping):
        cond = cond.element
    if not (isinstance(cond, BooleanClauseList) and cond.operator is operators.or_):
        return None
    kept = [c for c in cond.clauses if not _missing(c, detail)]
    if len(kept) == len(cond.clauses) or not kept:
        return None
    return kept[0] if len(kept) == 1 else or_(*kept)


def _missing(cond, detail: Table) -> bool:
    while isinstance(cond, Grouping):
        cond = cond.element
    return (isinstance(cond, BinaryExpression) and cond.operator is operators.is_
            and isinstance(cond.left, Column) and _table(cond.left.table) is detail and not cond.left.nullable)


def resolved(tab, user, args) -> tuple[dict[str, ColumnElement], bool]:
    """Conditions equivalent to some filters in `args` (by filter key) that an index can answer; and
    whether one is an opportunity id list (which then drives the query)."""
    out, by_opportunity = {}, False
    detail = detail_table(tab)
    for col in tab.columns:
        expr = _plain(col.expr)
        if col.filter == "select" and col.options is None and (val := args.get(col.key)) \
                and isinstance(expr, Column) and detail is not None and _table(expr.table) is not detail:
            if key := _catalog_key(tab, detail, _table(expr.table)):
                fk, pk = key
                ids = list(db.session.execute(select(pk).where(expr == val[:255]).limit(MAX_CATALOG_IDS + 1))
                           .scalars())
                if not ids:
                    out[col.key] = false()
                elif len(ids) <= MAX_CATALOG_IDS:
                    out[col.key] = fk == ids[0] if len(ids) == 1 else fk.in_(ids)
        elif col.filter == "text" and col.expr is Opportunity.name and (val := (args.get(col.key) or "").strip()[:100]):
            match = func.lower(Opportunity.name).contains(val.lower(), autoescape=True)  # as the filter says
            stmt = scope_opportunities(select(Opportunity.id).where(match), user).limit(MAX_OPPORTUNITY_IDS + 1)
            ids = list(db.session.execute(stmt).scalars())
            if not ids:
                out[col.key] = false()
            elif len(ids) <= MAX_OPPORTUNITY_IDS:
                out[col.key] = ActionRun.opportunity_id.in_(ids)
                by_opportunity = True
    return out, by_opportunity


def _plain(expr):
    return expr.__clause_element__() if hasattr(expr, "__clause_element__") else expr


def distinct_values(column: Column, limit: int, where=None) -> Select:
    """The column's distinct values in order, by hopping along its index ("loose index scan": one
    `min(col) WHERE col > previous` per value), instead of reading every row."""
    extra = [where] if where is not None else []
    d = select(func.min(column).label("v"), literal(0).label("n")).where(*extra).cte("distinct_values", recursive=True)
    following = select(func.min(column)).where(column > d.c.v, *extra).scalar_subquery()
    d = d.union_all(select(following, d.c.n + 1).where(d.c.v.is_not(None), d.c.n < limit))
    return select(d.c.v).where(d.c.v.is_not(None))


def _candidates(tab, expr: Column) -> list:
    """A plain column's distinct values, as (None, value). A detail table's `kind` column records the kind of
    the run that wrote the row (outgoing_email, stored_file: "the history's tab"), so only the tab's kinds
    are hopped through, by the (kind, column) index: the other tabs' values are not even candidates."""
    table = _table(expr.table)
    if table is detail_table(tab) and "kind" in table.c:
        values = set()
        for kind in tab.kinds:
            values |= set(db.session.execute(distinct_values(expr, CANDIDATES, table.c.kind == kind)).scalars())
        return [(None, v) for v in sorted(values)]
    return [(None, v) for v in db.session.execute(distinct_values(expr, CANDIDATES)).scalars()]


def _written_by_tab_runs(tab, table: Table) -> bool:
    """Whether `_candidates` takes `table`'s values from rows that always belong to a run of the tab's kinds:
    the tab's detail table, recording its run's kind, tied to the run by a foreign key that cannot be
    NULL (the row goes with its run)."""
    return table is detail_table(tab) and "kind" in table.c and not table.c.run_id.nullable


def visible_values(tab, user, col, rows: Select, limit: int) -> list[str] | None:
    """The values of a select column that occur in `rows` (the tab's rows the user may see), up to `limit`:
    candidates from the column's own table (index hops), each kept only if a visible row has it (one
    indexed EXISTS each). None when the column is not a plain table column."""
    expr = _plain(col.expr)
    if not isinstance(expr, Column) or not isinstance(expr.table, Table):
        return None
    detail = detail_table(tab)
    table = _table(expr.table)
    key = _catalog_key(tab, detail, table) if detail is not None and table is not detail else None
    if key is not None:
        candidates = db.session.execute(select(key[1], expr).where(expr.is_not(None)).order_by(expr)).all()
    else:
        candidates = _candidates(tab, expr)
        if not user.is_partner and _written_by_tab_runs(tab, table):
            # Each candidate is on a detail row that a run of the tab's kinds wrote, and someone who sees every
            # opportunity sees every such run: nothing to check (a query per candidate saved).
            return [value for _none, value in candidates][:limit]
    out: list[str] = []
    for ident, value in candidates:
        if out and out[-1] == value:
            continue
        cond = key[0] == ident if key is not None else expr == value
        if db.session.execute(rows.with_only_columns(ActionRun.id).where(cond).limit(1)).first() is not None:
            out.append(value)
            if len(out) >= limit:
                break
    return out


def possible_kinds(kinds, conditions: list) -> list[str]:
    """The kinds a filter such as "Change: closed" (`action_run.kind = 'close_substate'`) leaves: walking
    the others would read all their runs for nothing."""
    kind_column = ActionRun.__table__.c.kind
    for cond in conditions:
        while isinstance(cond, Grouping):
            cond = cond.element
        if isinstance(cond, BinaryExpression) and cond.operator is operators.eq and cond.left is not None \
                and _table(getattr(cond.left, "table", None)) is kind_column.table and cond.left.name == "kind" \
                and hasattr(cond.right, "value"):
            kinds = [k for k in kinds if k == cond.right.value]
    return list(kinds)


def window_floor(kind: str, size: int, below: int | None = None) -> int | None:
    """The id of the `size`-th newest run of `kind` (below `below`), None when there are fewer: one short
    walk of the (kind, id) index."""
    stmt = select(ActionRun.id).where(ActionRun.kind == kind)
    if below is not None:
        stmt = stmt.where(ActionRun.id < below)
    return db.session.execute(stmt.order_by(ActionRun.id.desc()).offset(size - 1).limit(1)).scalar()


def newest_runs_bound(kinds, count: int) -> ColumnElement | None:
    """`action_run.id >= x`, x such that this keeps the newest `count` runs of each kind; None when a kind
    has fewer."""
    bounds = [window_floor(kind, count) for kind in kinds]
    return None if None in bounds else ActionRun.id >= min(bounds)
