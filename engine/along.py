"""Writes that travel with a run's fenced UPDATE (issue 16): the last email's `sent` mark with the run's outcome
(executor.with_outcome), the new email rows with the `sending` mark (executor.begin_external). On PostgreSQL
they become data-modifying WITHs of that UPDATE — one round trip instead of one each, the new rows' ids
returned by it; elsewhere they are executed (the rows flushed) just before it.

A combined statement is built once per shape (which UPDATE, which writes, which columns each new row sets),
with bind parameters, and kept: built and compiled anew for every run, it cost more than the round trip it
saves. So a write is a statement with bind parameters of its own names plus their values, and the names are
no column's (an UPDATE's parameter named like a column of a write going with it would be SET there too)."""

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached

from extensions import db

_COMBINED: dict[tuple, object] = {}  # (UPDATE, writes, new rows' shapes) -> the statement, built once


def statement(stmt, along, new) -> tuple[object, dict]:
    """`stmt` with the writes `along` ((statement, parameters) pairs) and the INSERTs of the new, transient
    objects `new`: (the statement to execute, the parameters to add to its own). On PostgreSQL it returns the
    new ids (`inserted` takes them); elsewhere the writes are executed and the objects added to the session
    here, to be flushed as `stmt` is executed."""
    if not along and not new:
        return stmt, {}
    if db.engine.dialect.name != "postgresql":
        for write, params in along:
            db.session.execute(write, params)
        db.session.add_all(new)
        return stmt, {}
    params, shapes = {}, []
    for i, obj in enumerate(new):
        values = _values(obj)
        shapes.append((type(obj), tuple(values)))
        params.update({f"n{i}_{key}": value for key, value in values.items()})
    for _write, write_params in along:
        params.update(write_params)
    key = (stmt, tuple(write for write, _params in along), tuple(shapes))
    combined = _COMBINED.get(key)
    if combined is None:
        combined = _COMBINED[key] = _combine(stmt, [write for write, _params in along], shapes)
    return combined, params


def _combine(stmt, writes: list, shapes: list):
    stmt = stmt.add_cte(*(write.cte(f"along_{i}") for i, write in enumerate(writes)))
    if not shapes:
        return stmt
    ctes = []
    for i, (cls, keys) in enumerate(shapes):  # one INSERT each: the i-th id returned is the i-th object's
        mapper = inspect(cls)
        table = mapper.local_table
        insert = table.insert().values({k: bindparam(f"n{i}_{k}", type_=table.c[k].type) for k in keys})
        ctes.append(insert.returning(mapper.primary_key[0]).cte(f"new_{i}"))
    return stmt.add_cte(*ctes).returning(*(select(cte.c[0]).scalar_subquery() for cte in ctes))


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


def inserted(result, new) -> None:
    """The objects a statement from `statement` inserted on PostgreSQL become the session's, with their ids,
    as if flushed. Call only when the statement matched its row (else it is rolled back)."""
    if not new or db.engine.dialect.name != "postgresql":
        return
    for obj, key in zip(new, result.one(), strict=True):
        setattr(obj, inspect(obj).mapper.primary_key[0].key, key)
        make_transient_to_detached(obj)
        db.session.add(obj)
