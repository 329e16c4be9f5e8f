"""The engine's side of a dry run (SPEC D11; services.dry_run drives it): the real code paths run in one
database transaction that is rolled back, and the few places where an effect leaves the database ask
`active()` first — engine.executor's fenced commits (no commit), engine.outbox (the messages are built and
kept here instead of being sent), engine.files (a file is named, not written) and the e-signature kind (no
document, no provider call). While a dry run is active any commit of the session raises, so a path that
was missed fails loudly instead of writing.

`execute(run)` does in the caller's transaction what engine.executor.execute does in its own: run the
kind, record the outcome, announce it — with a SAVEPOINT per run so that a failing kind's changes are
undone as the executor's rollback would undo them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from engine import dispatch
from engine.errors import NeedsReview, PermanentError, Skip, TransientError
from engine.kinds import get_kind
from extensions import db
from models.base import utcnow
from models.runs import ActionRun
from services import ServiceError, events
from services.events import RunOutcome


@dataclass
class Collector:
    """What the dry run's effects would have sent, by run id: rendered letters and named files."""

    letters: dict[int, list] = field(default_factory=dict)
    files: dict[int, list[str]] = field(default_factory=dict)


_active: ContextVar[Collector | None] = ContextVar("oppflow_dry_run", default=None)


def active() -> Collector | None:
    """The running dry run's collector, or None when effects are real."""
    return _active.get()


class CommitInDryRun(RuntimeError):
    """Something tried to commit during a dry run: refused, so that nothing is ever written."""


# On the connection, not the session: releasing a SAVEPOINT is a session "commit" too, a COMMIT is not.
@event.listens_for(Engine, "commit")
def _refuse_commit(conn) -> None:
    if _active.get() is not None:
        raise CommitInDryRun("a dry run never commits")


@contextmanager
def simulating() -> Iterator[Collector]:
    """Effects kept in a collector, runs held off the queue, commits refused; the caller rolls back."""
    collector = Collector()
    token = _active.set(collector)
    try:
        with dispatch.held():
            yield collector
    finally:
        _active.reset(token)


def note_letters(run: ActionRun, letters: list) -> None:
    """engine.outbox: the messages a run would send, rendered (engine.mail.Letter each)."""
    collector = _active.get()
    if collector is not None:
        collector.letters.setdefault(run.id, []).extend(letters)


def note_file(run, filename: str) -> None:
    """engine.files: a file a run would store and attach."""
    collector = _active.get()
    if collector is not None:
        collector.files.setdefault(run.id, []).append(filename)


def execute(run: ActionRun) -> None:
    """Run one waiting run in the caller's transaction and record its outcome on it, as the executor would
    (a transient error is recorded as a failure that would be retried: `result["would_retry"]`)."""
    kind = get_kind(run.kind)
    started = utcnow()
    # The run is not marked "running" first, as a worker's claim does: nobody else can take it here, and
    # each change to the row is an UPDATE more (a dry run executes dozens of runs).
    savepoint = db.session.begin_nested()
    try:
        run_kind = getattr(kind, "execute", None)
        if run_kind is None:
            raise PermanentError(f"Actions of this kind cannot run yet: {run.kind}.")
        result = run_kind(run) or {}
        run.status, run.finished_at, run.result, run.error = "succeeded", utcnow(), result, None
        run.started_at, run.attempts = started, (run.attempts or 0) + 1
        events.run_succeeded.send(run, change=RunOutcome(run, "succeeded", run.finished_at))
        savepoint.commit()
        return
    except Skip as reason:
        savepoint.rollback()
        run.status, run.reason = "skipped", str(reason)
    except NeedsReview as reason:
        savepoint.rollback()
        run.status, run.reason = "needs_review", str(reason)
    except (TransientError, OperationalError) as err:
        savepoint.rollback()
        run.status, run.error, run.result = "failed", str(err) or type(err).__name__, {"would_retry": True}
    except (PermanentError, ServiceError) as err:
        savepoint.rollback()
        run.status, run.error = "failed", getattr(err, "message", None) or str(err)
        events.run_failed.send(run, change=RunOutcome(run, "failed", utcnow(), run.error))
    except Exception as err:  # noqa: BLE001 - shown in the dry run's tree, as the run would record it
        if isinstance(err, CommitInDryRun):
            raise
        savepoint.rollback()
        run.status, run.error = "failed", f"{type(err).__name__}: {err}"
    run.started_at, run.attempts, run.finished_at = started, (run.attempts or 0) + 1, utcnow()
