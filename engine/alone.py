"""On PostgreSQL, a job's statement that would be its transaction's only one is sent without a transaction.

psycopg opens each transaction with a BEGIN of its own, a round trip before the first statement, and the
commit is another: a run that reads itself, then writes its outcome in one statement (engine.along), paid four
round trips for two statements, and an email's run seven for three. Under READ COMMITTED (PostgreSQL's
default, and ours) every statement of a transaction sees a snapshot of its own, so the run's read gains
nothing from sharing the write's transaction; and one statement is atomic by itself. So the engine sends
its run's read, and its run's first or last write, in autocommit mode when nothing else is in their
transaction: no statement since the transaction began (the connection is idle) and nothing in the session
waiting to be flushed before it. Whatever the block then commits is that statement (the commit costs
nothing: psycopg has no transaction to end). Anything else — a kind that reads or writes on its own, a
flush, a failure being recorded — goes in the usual transaction. SQLite is left as it is: it has no round
trips to save.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


def connection(session: Session):
    """The session's psycopg connection (checked out now), or None on another database."""
    conn = session.connection()
    return conn.connection.dbapi_connection if conn.dialect.name == "postgresql" else None


def _idle(raw) -> bool:
    from psycopg.pq import TransactionStatus

    return raw.info.transaction_status == TransactionStatus.IDLE


def begins(raw) -> bool:
    """Whether psycopg sends a BEGIN of its own (a round trip) before the next statement on `raw`."""
    return not raw.autocommit and _idle(raw)


def commits(raw) -> bool:
    """Whether a commit on `raw` reaches the server (a round trip): only when a transaction is open."""
    return not _idle(raw)


@contextmanager
def statement(raw, session: Session) -> Iterator[None]:
    """Send the block's one statement outside a transaction when it would be its transaction's only one
    (`raw`: connection()'s result; None: as usual). The block must send that statement and nothing else
    before its commit."""
    if raw is None or not _idle(raw) or session.new or session.dirty or session.deleted:
        yield
        return
    raw.autocommit = True
    try:
        yield
    finally:
        if not raw.closed and not raw.broken:
            raw.autocommit = False  # idle again: the statement ended its own transaction
