"""A history page sorted by a column, fast at a million runs (issue 16, docs/performance.md).

The plain query sorted every row of the tab with all its columns (the run's JSON config and result, the
detail rows…) and every join, only to keep 50: 0.4–2 s at a million runs. This module sorts narrow rows and
loads wide ones only for the page ("deferred join"):

1. `sorted_keys`: the page's keys (run id, detail id) — the sort value, the keys, and only the joins the
   sort, the filters and the partner rule need (plus the detail that gives one row per email, status change
   or notification: it makes the rows). A to-one outer join nobody reads changes neither the rows nor their
   order, so it is left out; so is the opportunity for someone who sees every opportunity and neither sorts
   nor filters by its name (every run has one: a foreign key, not null).
2. `load_rows`: the tab's full rows for those keys, put back in the order of step 1.

The order is the column's shown value, then the run id (and detail id) the same way as the value: one
index direction, so that an index on (kind, value, id) walks the page without sorting when the value is a
plain column (the date). An empty cell comes first going up and last going down, as before; a column
that cannot be NULL is sorted without the NULLS clause, which PostgreSQL's indexes could not answer.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.sql.util import find_tables

from extensions import db
from models import ActionRun, Opportunity
from services.access import scope_opportunities
from services.history import keyset


def _plain(expr):
    return expr.__clause_element__() if hasattr(expr, "__clause_element__") else expr


def _tables(*exprs) -> set:
    out = set()
    for expr in exprs:
        if expr is not None:
            out |= {keyset._table(t) for t in find_tables(_plain(expr), check_columns=True, include_aliases=True)}
    return out


def not_null(expr) -> bool:
    """Whether `expr` is a NOT NULL column of the run or its opportunity (or lower() of one): its sort needs no
    NULLS clause. Only those two: another table's column is NULL where its outer join found nothing."""
    expr = _plain(expr)
    if getattr(expr, "name", None) == "lower" and hasattr(expr, "clauses") and len(expr.clauses) == 1:
        expr = list(expr.clauses)[0]
    table = keyset._table(getattr(expr, "table", None))
    return table in (ActionRun.__table__, Opportunity.__table__) and not expr.nullable


def key_columns(tab) -> list[ColumnElement]:
    """The row's keys: the run id, and the detail id for tabs with several rows per run (0 when none)."""
    keys = [ActionRun.id]
    if tab.detail_id is not None:
        keys.append(func.coalesce(tab.detail_id, 0))
    return keys


def sorted_keys(tab, user, conditions: list, expr, desc: bool, offset: int, limit: int,
                partner=None, by_kind: bool = False) -> list[tuple]:
    """The keys of the rows `offset`…`offset + limit` in the order of `expr`, the joins kept to those needed.
    `by_kind` (a date: Python orders it as the databases do) reads a tab of several kinds one kind at a time
    and merges them: each kind's (kind, date, id) index then gives its rows in order, where an IN list of
    kinds would make either database sort them all."""
    if by_kind and len(tab.kinds) > 1:
        merged = []
        for kind in tab.kinds:
            merged += _sorted(tab, user, (kind,), conditions, expr, desc, 0, offset + limit, partner, True)

        def order(row):  # as SQL orders it: an empty date first going up, last going down
            return (row[0] is not None, row[0], *row[1:])

        merged.sort(key=order, reverse=desc)
        return [row[1:] for row in merged[offset:offset + limit]]
    return _sorted(tab, user, tab.kinds, conditions, expr, desc, offset, limit, partner, False)


def _sorted(tab, user, kinds, conditions, expr, desc, offset, limit, partner, with_value) -> list[tuple]:
    keys = key_columns(tab)
    needed = _tables(expr, partner, *conditions, *keys[1:])
    joins = keyset._join_list(tab)
    kept = []
    for right, on, outer in reversed(joins):
        if keyset._table(right) in needed or not outer:
            kept.append((right, on, outer))
            needed |= _tables(on)
    available = {ActionRun.__table__, Opportunity.__table__} | {keyset._table(right) for right, _on, _o in joins}
    if not needed <= available:  # a table not recognised among the joins: keep them all (same rows)
        kept = list(reversed(joins))
    stmt = select(*([expr] if with_value else []), *keys).select_from(ActionRun)
    opportunity = user.is_partner or Opportunity.__table__ in needed
    if opportunity:
        stmt = stmt.join(Opportunity, Opportunity.id == ActionRun.opportunity_id)
    for right, on, outer in reversed(kept):
        stmt = stmt.join(right, on, isouter=outer)
    stmt = stmt.where(ActionRun.kind == kinds[0] if len(kinds) == 1 else ActionRun.kind.in_(kinds), *conditions)
    if partner is not None:
        stmt = stmt.where(partner)
    if opportunity:
        stmt = scope_opportunities(stmt, user)
    if not_null(expr):
        first = expr.desc() if desc else expr.asc()
    else:
        first = expr.desc().nulls_last() if desc else expr.asc().nulls_first()
    order = [first] + [k.desc() if desc else k.asc() for k in keys]
    return [tuple(row) for row in db.session.execute(stmt.order_by(*order).offset(offset).limit(limit))]


def load_rows(tab, stmt: Select, found: list[tuple]) -> list:
    """The tab's full rows (`stmt`: its base query) for the keys found, in their order."""
    if not found:
        return []
    keys = key_columns(tab)
    ids = sorted({k[0] for k in found})
    stmt = stmt.where(ActionRun.id.in_(ids))
    if len(keys) > 1:  # about the page's detail rows of those runs (a row-value IN costs PostgreSQL more
        # to plan than to run); the exact pairs are kept below
        stmt = stmt.where(keys[1].in_(sorted({k[1] for k in found})))
    rows = db.session.execute(stmt).all()
    position = {key: i for i, key in enumerate(found)}

    def row_key(row) -> tuple:
        if len(keys) == 1:
            return (row[0].id,)
        detail = row[2]
        return row[0].id, detail.id if detail is not None else 0

    rows = [row for row in rows if row_key(row) in position]
    rows.sort(key=lambda row: position[row_key(row)])
    return rows
