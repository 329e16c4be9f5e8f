"""Running one action run: claim with a conditional update and a lease, execute the kind, record the
outcome — each effect once (SPEC E7), transient errors retried with backoff (E8)."""

import logging
import os
import socket
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import load_only
from sqlalchemy.orm.attributes import set_committed_value

from engine import alone, dispatch, dry_run, webhook_subscriptions
from engine import along as along_writes
from engine.errors import NeedsReview, PermanentError, Skip, TransientError
from engine.kinds import Kind, get_kind
from extensions import db
from models import Opportunity
from models.base import utcnow
from models.runs import WAITING_STATUSES, ActionRun
from services import ServiceError, events, notifications
from services.events import RunOutcome

log = logging.getLogger("oppflow.engine")
_HOST = socket.gethostname()


# Built once with bind parameters: this runs for every job, and building it anew costs more than running it.
# Statements on the table rather than the mapped class: the ORM's bulk-update path (synchronising the
# session, plugin hooks) cost more per run than the statement itself, and nothing here needs it.
# The parameters' names (x_…) are no column's: an UPDATE's parameters named like a column of a write going
# with it (with_outcome: outgoing_email.run_id) would be SET on that write too.
_table = ActionRun.__table__
# A run may be taken when it is due and free, or when its holder's lease ran out.
_CLAIMABLE = and_(_table.c.id == bindparam("x_run"),
                  or_(dispatch.ready_clause_of_one(bindparam("x_now")),
                      and_(_table.c.status == "running", _table.c.lease_until < bindparam("x_now"))))
_CLAIM = (
    _table.update()
    .where(_CLAIMABLE)
    .values(status="running", claimed_by=bindparam("x_token"), lease_until=bindparam("x_lease_until"),
            started_at=bindparam("x_now"), attempts=_table.c.attempts + 1)
    .returning(_table.c.kind)  # which kind: it says what to load with the run
)
# Every run is read with its opportunity, as an entity joined by id rather than a joined eager load (which cost
# ~80 Python calls more per run): `run.opportunity`, a many-to-one by primary key, then finds it in the session.
_OPPORTUNITY = [(Opportunity, Opportunity.id == ActionRun.opportunity_id)]
_UNKNOWN = Kind()  # what a run of a kind this code does not know is read as (it has no execute())
# The run's columns a kind's execution reads; the rest (its enqueueing, lease, error and reason, …: what the
# history shows) are loaded only if something asks for them. Each column read costs ~7 Python calls per run
# in the driver and the ORM, and every job reads a run.
_RUN_COLUMNS = load_only(
    ActionRun.id, ActionRun.action_id, ActionRun.opportunity_id, ActionRun.substate_id, ActionRun.kind,
    ActionRun.config, ActionRun.trigger, ActionRun.status, ActionRun.due_at, ActionRun.created_at,
    ActionRun.started_at, ActionRun.attempts, ActionRun.chain_id, ActionRun.chain_depth, ActionRun.parent_run_id,
    ActionRun.after_run_id, ActionRun.has_next, ActionRun.result, ActionRun.user_id, ActionRun.trigger_id)
_READS: dict[tuple[str, bool], tuple] = {}  # a run's read with what its kind names (_read), once per kind
_CLAIMS_WITH: dict[tuple[str, ...], object] = {}  # the claim written with a run's first write, per column set
_CLAIMED = {"claimed_by": bindparam("x_token"), "started_at": bindparam("x_now"), "attempts": _table.c.attempts + 1}
# A run holds its claim while "running" and, once it talks to the outside world, while "sending".
_HELD = ("running", "sending")
# Spelled as ORs rather than IN: an IN list is re-rendered ("expanded") at every execution.
_RECORD_WHERE = and_(_table.c.id == bindparam("x_run"), _table.c.claimed_by == bindparam("x_token"),
                     or_(*(_table.c.status == s for s in _HELD)))
_RECORDS: dict[tuple[str, ...], object] = {}  # fenced UPDATE per set of written columns, built once


def _update(cache: dict, where, values: dict, **fixed):
    """The UPDATE of the run's columns `values` (bound as v_<column>) under `where`, plus `fixed` column
    expressions; built once per set of columns and kept in `cache`. Returns (statement, its value params)."""
    keys = tuple(sorted(values))
    stmt = cache.get(keys)
    if stmt is None:
        stmt = cache[keys] = _table.update().where(where).values(
            **fixed, **{k: bindparam(f"v_{k}", type_=_table.c[k].type) for k in keys})
    return stmt, {f"v_{k}": v for k, v in values.items()}


def _fenced(run_id: int, token: str, values: dict, along: list | tuple = (), new: list | tuple = ()) -> bool:
    """UPDATE the run's columns `values` only while this worker holds it, with the writes `along`
    (with_outcome) and the INSERTs of the objects `new` (begin_external) — engine.along; False when the run
    is no longer this worker's."""
    stmt, params = _update(_RECORDS, _RECORD_WHERE, values)
    return along_writes.execute(stmt, {"x_run": run_id, "x_token": token, **params}, along, new)


@dataclass
class _Claim:
    """The run this job executes and its fencing token; `written` once the claim is in the database (at once
    on the committed-claim path; with the run's first write on the other, see execute())."""

    run_id: int
    token: str
    now: datetime
    written: bool
    along: list = field(default_factory=list)  # (write, parameters) that go with the success (with_outcome)
    kept: list = field(default_factory=list)  # objects held so that the session keeps them (see _read_run)
    read: tuple = ()  # what the kind's read_with named, read with the run (read_with_records)
    raw: object = None  # PostgreSQL's connection, for the statements that go alone (engine.alone)


# The claim of the run this job executes, for the external-effect API below.
_claim: ContextVar[_Claim | None] = ContextVar("oppflow_claim", default=None)


def read_with_records() -> tuple:
    """What the kind of the run this job executes named in `Kind.read_with`, as read with the run, in that
    order (None where nothing matched); () outside a job (a dry run executes kinds without one)."""
    claim = _claim.get()
    return claim.read if claim is not None else ()


class LeaseLost(Exception):
    """The run is no longer this worker's (the sweeper or another worker took it): stop, record nothing."""


def _new_token() -> str:
    """Who holds a run: host, process and a random part, written as claimed_by and fencing later writes."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim_run(run_id: int, now: datetime | None = None) -> tuple[str, str | None] | None:
    """Take the run if it may be taken now, in the session's transaction, left uncommitted: (token, kind),
    the token fencing later writes; None when the run is not ours."""
    now = now or utcnow()
    token = _new_token()
    lease_until = now + timedelta(seconds=current_app.config["ENGINE_LEASE_SECONDS"])
    row = db.session.execute(_CLAIM, {"x_run": run_id, "x_now": now, "x_token": token,
                                      "x_lease_until": lease_until}).first()
    return (token, row[0]) if row is not None else None


def _undo(claim: _Claim) -> str | None:
    """Roll back the run's work and hold the run again: a claim not yet written went with the rollback and
    is made anew. Returns the token that now holds the run, None if another worker has it."""
    db.session.rollback()
    claim.along.clear()
    claim.kept.clear()
    if claim.written:
        return claim.token
    taken = _claim_run(claim.run_id)
    return taken[0] if taken else None


def _record(run_id: int, token: str, along: list | tuple = (), **values) -> bool:
    """Write the outcome only if this worker still holds the run; False means another took it over."""
    return _fenced(run_id, token, {"lease_until": None, **values}, along)


def with_outcome(write, params: dict, *objects) -> None:
    """A write of the running job's kind (an UPDATE with bind parameters `params`, named as no column is: see
    engine.along) that belongs with the run's success: made with the outcome's UPDATE (on PostgreSQL in the
    same statement), dropped with the rest of the run's work if it fails or is no longer this worker's. Outside
    a job (a dry run), made at once. One per statement and run. `objects`, the session's objects it writes
    (already showing the new values), are held until then: the session keeps only weak references to
    unchanged objects, and a query meanwhile would read the row as it still is."""
    held = _claim.get()
    if held is None or dry_run.active() is not None:
        db.session.execute(along_writes.plain(write), params)
        return
    if any(pending is write for pending, _params in held.along):
        raise ValueError("with_outcome: this write is already waiting for the outcome")
    held.along.append((write, params))
    held.kept.extend(objects)


def begin_external(run: ActionRun, new: list | tuple = (), **values) -> None:
    """Before an effect outside the database (email, report, export, signature request): record the run
    as `sending` with what identifies the effect (e.g. Message-IDs in `result`, and the rows `new`, not yet in
    the session, inserted with it: on PostgreSQL in the same statement), commit it fenced by the
    claim, and renew the lease. From here on a worker that dies leaves the run `sending`; the sweeper then
    turns it into `needs_review` instead of doing the effect again (docs/engine.md, "External effects").
    Whatever the kind added to the session so far is committed with it. Raises LeaseLost."""
    _fenced_commit(run, new, status="sending", **values)


def checkpoint(run: ActionRun, **values) -> None:
    """Commit progress of an external effect (one message of several sent), fenced; renews the lease."""
    _fenced_commit(run, (), **values)


def _fenced_commit(run: ActionRun, new: list | tuple, **values) -> None:
    if dry_run.active() is not None:  # a dry run keeps everything in its one transaction, rolled back
        db.session.add_all(new)
        return
    held = _claim.get()
    if held is None or held.run_id != run.id:
        raise RuntimeError("begin_external/checkpoint called outside the run's own job")
    lease_until = utcnow() + timedelta(seconds=current_app.config["ENGINE_LEASE_SECONDS"])
    with alone.statement(held.raw, db.session):
        if held.written:
            ours = _fenced(held.run_id, held.token, {"lease_until": lease_until, **values}, new=new)
        else:  # the run's first write: the claim goes with it, under the condition the run was read with
            ours = _claim_with(held, {"status": "running", "lease_until": lease_until, **values}, new=new)
    if not ours:
        db.session.rollback()
        raise LeaseLost(f"run {held.run_id}")
    held.written = True
    _commit_unexpired()  # the run is still ours and goes on with the objects it loaded


def _commit_unexpired() -> None:
    """Commit without expiring the session's objects: what comes next either goes on with them (the run after
    begin_external) or reads nothing more (the job ends), so expiring them would only cost a reload or the time."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _backoff(attempts: int) -> timedelta:
    cfg = current_app.config
    return timedelta(seconds=min(cfg["ENGINE_BACKOFF_MAX"], cfg["ENGINE_BACKOFF_BASE"] * 2 ** (attempts - 1)))


def _outcome(run: ActionRun, token: str, status: str, **values) -> None:
    if _record(run.id, token, status=status, finished_at=utcnow(), **values):
        db.session.commit()
    else:
        db.session.rollback()
        log.warning("run %s: lost its lease before finishing; its outcome was not recorded", run.id)


def _failed(run_id: int, token: str, attempts: int, error: str, transient: bool) -> bool:
    """Record a failure (the run's work already rolled back); False when the run will be retried later
    rather than having ended."""
    run = db.session.get(ActionRun, run_id)
    if transient and attempts < current_app.config["ENGINE_MAX_ATTEMPTS"]:
        # Back to waiting with a later due time; the sweeper enqueues it then.
        if _record(run_id, token, status="pending", due_at=utcnow() + _backoff(attempts),
                   enqueued_at=None, error=error):
            db.session.commit()
        return False
    notifications.run_failed(run, error)  # committed with the outcome, dropped if the lease was lost
    events.run_failed.send(run, change=RunOutcome(run, "failed", utcnow(), error))
    _outcome(run, token, "failed", error=error)
    return True


def execute(run_id: int, kind_key: str | None = None) -> str:
    """Claim, run and record one run; returns its final word (for RQ's job result).

    The job names the run's kind (`kind_key`; None: read it with the claim). Two ways to claim
    (docs/engine.md, "Claim"):
    - A kind whose work before its first write is short (`Kind.claim_with_first_write`: database-only kinds,
      whose first write is the outcome; send email, whose first is the `sending` mark before the server is
      contacted) has its run read if it may be taken, and the claim written with that first write, fenced
      by the same condition: the claim costs neither an UPDATE nor a commit of its own, a worker dying before
      it leaves the run as it was, and two workers cannot both write it.
    - Any other kind's claim is committed first, so that the lease is visible while it renders templates or
      writes files."""
    kind = get_kind(kind_key) if kind_key else None
    if kind is not None and kind.claim_with_first_write:
        return _execute_claiming_with_first_write(run_id, kind)
    now = utcnow()
    raw = alone.connection(db.session)
    with alone.statement(raw, db.session):
        taken = _claim_run(run_id, now)
    db.session.commit()
    if taken is None:
        return "not claimed"
    token, kind_key = taken
    kind = get_kind(kind_key) or _UNKNOWN  # e.g. a kind since removed: the run fails, saying so
    with alone.statement(raw, db.session):
        run, claim = _read_run(kind, False, {"x_run": run_id}, run_id, token, now, written=True)
    claim.raw = raw
    return _run(run, kind, claim)


def _read(kind, claimable: bool) -> tuple:
    """The statement reading a run (`claimable`: only if it may be taken now) with what its kind's execute()
    reads besides — the run's opportunity, the records related to it that the kind names
    (`Kind.opportunity_records`, e.g. its client) and the records its config names (`Kind.read_with`, e.g. the
    email template), joined, so that it is one query rather than one lookup at a time: the records land in the
    session, where session.get() and many-to-one relationships find them — and whether any webhook
    subscription is active (engine.webhook_subscriptions.ANY_ACTIVE). Returns (statement, where the kind's
    read_with values start in a row)."""
    read = _READS.get((kind.key, claimable))
    if read is None:
        where = _CLAIMABLE if claimable else _table.c.id == bindparam("x_run")
        stmt = select(ActionRun).where(where).options(_RUN_COLUMNS)
        lead = [*_OPPORTUNITY, *kind.opportunity_records]
        for entity, on in (*lead, *kind.read_with(), (webhook_subscriptions.ANY_ACTIVE, None)):
            stmt = stmt.add_columns(entity)
            if on is not None:  # a record; without a join condition, a column expression (e.g. an EXISTS)
                stmt = stmt.outerjoin(entity, on)
        read = _READS[(kind.key, claimable)] = (stmt, 1 + len(lead))
    return read


def _read_run(kind, claimable: bool, params: dict, run_id: int, token: str, now: datetime, written: bool
              ) -> tuple[ActionRun, _Claim] | None:
    """Execute the run's read (_read): the run, with its opportunity set on it, and its claim holding what the
    read found (the session keeps only weak references: unheld, a record would be gone when the kind looks
    for it); None when no run matched. A transaction whose read found no active webhook subscription tells
    engine.webhook_subscriptions so, which then need not ask Redis."""
    stmt, start = _read(kind, claimable)
    row = db.session.execute(stmt, params).first()
    if row is None:
        return None
    if not row[-1]:
        webhook_subscriptions.none_active()
    run = row[0]
    set_committed_value(run, "opportunity", row[1])
    return run, _Claim(run_id, token, now, written, kept=list(row[1:start]), read=tuple(row[start:-1]))


def _execute_claiming_with_first_write(run_id: int, kind) -> str:
    """execute() for a kind that claims with its first write: read the run if it may be taken and run it;
    begin_external/checkpoint or the outcome write the claim (_claim_with)."""
    now = utcnow()
    raw = alone.connection(db.session)
    with alone.statement(raw, db.session):
        read = _read_run(kind, True, {"x_run": run_id, "x_now": now}, run_id, _new_token(), now, written=False)
    if read is None:
        db.session.rollback()
        return "not claimed"
    run, claim = read
    claim.raw = raw
    # The kind sees the run as claimed, as on the other path (nothing is written until its first write).
    for key, value in (("status", "running"), ("claimed_by", claim.token), ("started_at", now),
                       ("attempts", run.attempts + 1)):
        set_committed_value(run, key, value)
    return _run(run, kind, claim)


def _claim_with(claim: _Claim, values: dict, along: list | tuple = (), new: list | tuple = ()) -> bool:
    """Write the claim with the run's first write (`values`, the writes `along` and the objects `new`:
    engine.along), under the condition the run was read with; False when the run may no longer be taken
    (another worker has it)."""
    stmt, params = _update(_CLAIMS_WITH, _CLAIMABLE, values, **_CLAIMED)
    return along_writes.execute(stmt, {"x_run": claim.run_id, "x_now": claim.now, "x_token": claim.token, **params},
                                along, new)


def _succeeded(claim: _Claim, result: dict, finished) -> bool:
    """Write the success, fenced by the claim (or with it, when the run wrote nothing before); False when
    the run is no longer ours."""
    values = {"status": "succeeded", "finished_at": finished, "result": result, "error": None}
    if claim.written:
        return _record(claim.run_id, claim.token, claim.along, **values)
    return _claim_with(claim, {"lease_until": None, **values}, claim.along)


def _run(run: ActionRun, kind, claim: _Claim) -> str:
    """Execute a run's kind and record how it went."""
    run_id, attempts, has_next = run.id, run.attempts, run.has_next
    ended = True
    claim_var = _claim.set(claim)
    try:
        run_kind = getattr(kind, "execute", None)
        if run_kind is None:
            raise PermanentError(_("Actions of this kind cannot run yet: %(kind)s.", kind=run.kind))
        result = run_kind(run) or {}
        finished = utcnow()
        # Before the outcome, in its transaction: what receivers add is written with it (and dropped with it
        # if the run is no longer ours), and a receiver that adds nothing leaves the outcome alone (engine.alone).
        events.run_succeeded.send(run, change=RunOutcome(run, "succeeded", finished))
        with alone.statement(claim.raw, db.session):
            succeeded = _succeeded(claim, result, finished)
        if not succeeded:
            db.session.rollback()  # another worker holds it now: undo our effect
            return "lost lease"
        _commit_unexpired()
    except LeaseLost:
        db.session.rollback()
        log.warning("run %s: lost its claim during an external effect; left to the sweeper", run_id)
        return "lost lease"
    except Exception as err:  # noqa: BLE001 - recorded on the run, never swallowed
        token = _undo(claim)
        if token is None:
            return "lost lease"
        ended = _end(run, run_id, token, attempts, err)
    finally:
        _claim.reset(claim_var)
    if ended and has_next:
        _release_next(run_id)
    return "done"


def _end(run: ActionRun, run_id: int, token: str, attempts: int, err: Exception) -> bool:
    """Record how a run that raised ended (its work rolled back); False when it will be retried later."""
    if isinstance(err, Skip):
        _outcome(run, token, "skipped", reason=str(err))
    elif isinstance(err, NeedsReview):  # a person decides (e.g. no working day to schedule the due time in)
        _outcome(run, token, "needs_review", reason=str(err))
    elif isinstance(err, (TransientError, OperationalError)):
        return _failed(run_id, token, attempts, str(err) or type(err).__name__, transient=True)
    elif isinstance(err, (PermanentError, ServiceError)):
        _failed(run_id, token, attempts, getattr(err, "message", None) or str(err), transient=False)
    else:
        log.error("run %s failed", run_id, exc_info=err)
        _failed(run_id, token, attempts, f"{type(err).__name__}: {err}", transient=False)
    return True


def _release_next(run_id: int) -> None:
    """The next run in the configured order may go now that this one is done (or will retry later)."""
    following = db.session.execute(
        select(ActionRun).where(ActionRun.after_run_id == run_id, ActionRun.status.in_(WAITING_STATUSES),
                                ActionRun.enqueued_at.is_(None))
    ).scalars().all()
    if following:
        dispatch.enqueue_after_commit(following)
        db.session.commit()
