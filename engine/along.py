"""Writes that travel with a run's fenced UPDATE (issue 16): the last email's `sent` mark with the run's outcome
(executor.with_outcome), the new email rows with the `sending` mark (executor.begin_external). On PostgreSQL
they become data-modifying WITHs of that UPDATE, written only if it matched its row — one round trip instead
of one each, the new rows' ids returned by it; elsewhere they are executed (the rows flushed) just before it.

A combined statement is built once per shape (which UPDATE, which writes, which columns each new row sets),
with bind parameters, and kept: built and compiled anew for every run, it cost more than the round trip it
saves. So a write is a statement with bind parameters of its own names plus their values, and the names are
no column's (an UPDATE's parameter named like a column of a write going with it would be SET there too)."""

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import BindParameter, Table, bindparam, exists, func, inspect, literal, literal_column, select
from sqlalchemy.orm import make_transient_to_detached

from extensions import db

_COMBINED: dict[tuple, object] = {}  # (UPDATE, writes, new rows' shapes) -> the statement, built once


@dataclass(frozen=True, eq=False)
class Insert:
    """A write of one row that can go with a fenced UPDATE: `values`, column name -> bound parameter (named
    as no column is) or constant. An UPDATE goes as it is (gated with a WHERE); an INSERT … VALUES takes no
    WHERE, so it is spelled INSERT … SELECT where it must be gated."""

    table: Table
    values: dict

    @cached_property
    def plain(self):
        """The INSERT … VALUES, built once (SQLite and dry runs execute it for every opening)."""
        return self.table.insert().values(self.values)

    def gated(self, gate):
        def typed(key, value):  # a SELECT list has no column to take the parameter's type from
            column_type = self.table.c[key].type
            if isinstance(value, BindParameter):
                return bindparam(value.key, type_=column_type)
            return literal(value, type_=column_type)
        row = select(*(typed(k, v) for k, v in self.values.items())).where(gate)
        return self.table.insert().from_select(list(self.values), row)


def plain(write):
    """The write as a statement of its own (not going with an UPDATE)."""
    return write.plain if isinstance(write, Insert) else write


def execute(stmt, params: dict, along, new) -> bool:
    """Execute the fenced UPDATE `stmt` (with its `params`) with the writes `along` ((statement, parameters)
    pairs) and the INSERTs of the new, transient objects `new`; True when it matched its row. Then the new
    objects are the session's, with their ids; when it did not, the caller rolls back.

    On PostgreSQL, one statement whose writes are gated on the UPDATE's row (they read its RETURNING): a
    data-modifying WITH runs whether or not the main statement matches, so ungated they would stand if the
    statement were committed on its own (engine.alone) after the run had become another worker's. Elsewhere
    the writes are executed and the objects added to the session (flushed as `stmt` is executed) just before."""
    if not along and not new:
        return db.session.execute(stmt, params).rowcount == 1
    if db.engine.dialect.name != "postgresql":
        for write, write_params in along:
            db.session.execute(plain(write), write_params)
        db.session.add_all(new)
        return db.session.execute(stmt, params).rowcount == 1
    shapes = []
    for i, obj in enumerate(new):
        values = _values(obj)
        shapes.append((type(obj), tuple(values)))
        params = {**params, **{f"n{i}_{key}": value for key, value in values.items()}}
    for _write, write_params in along:
        params = {**params, **write_params}
    key = (stmt, tuple(write for write, _params in along), tuple(shapes))
    combined = _COMBINED.get(key)
    if combined is None:
        combined = _COMBINED[key] = _combine(stmt, [write for write, _params in along], shapes)
    matched, *ids = db.session.execute(combined, params).one()
    if not matched:
        return False
    for obj, pk in zip(new, ids, strict=True):
        setattr(obj, inspect(obj).mapper.primary_key[0].key, pk)
        make_transient_to_detached(obj)
        db.session.add(obj)
    return True


def _combine(stmt, writes: list, shapes: list):
    """SELECT (the UPDATE's row count), (each new row's id) — the UPDATE, the writes and the INSERTs as WITHs,
    each write and INSERT only if the UPDATE returned its row."""
    fenced = stmt.returning(literal_column("1").label("one")).cte("fenced")
    gate = exists(select(fenced.c.one))
    ctes = [(write.gated(gate) if isinstance(write, Insert) else write.where(gate)).cte(f"along_{i}")
            for i, write in enumerate(writes)]
    inserts = []
    for i, (cls, keys) in enumerate(shapes):  # one INSERT each: the i-th id returned is the i-th object's
        mapper = inspect(cls)
        insert = Insert(mapper.local_table, {k: bindparam(f"n{i}_{k}") for k in keys}).gated(gate)
        inserts.append(insert.returning(mapper.primary_key[0]).cte(f"new_{i}"))
    counted = select(func.count()).select_from(fenced).scalar_subquery()
    return select(counted, *(select(cte.c[0]).scalar_subquery() for cte in inserts)).add_cte(*ctes, *inserts)


def _values(obj) -> dict:
    """A new object's column values, its Python-side defaults (e.g. created_at) set on it first, as a flush
    would."""
    values = {}
    for attr in inspect(obj).mapper.column_attrs:
        column = attr.columns[0]
        if column.primary_key:
            continue
        default = column.default
        if attr.key not in obj.__dict__ and default is not None:
            if not (default.is_callable or default.is_scalar):  # a SQL expression or sequence: not bound here
                raise TypeError(f"engine.along cannot insert {column} with its SQL-side default; set it")
            setattr(obj, attr.key, default.arg(None) if default.is_callable else default.arg)
        if attr.key in obj.__dict__:
            values[column.key] = obj.__dict__[attr.key]
    return values
