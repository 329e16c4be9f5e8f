"""Getting runs to the workers: enqueue after commit, and the sweeper that makes the database the
source of truth (SPEC E6) — it re-enqueues every run that is due and neither finished nor held by a
live worker, whatever Redis lost."""

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.utils import utcparse
from sqlalchemy import and_, event, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, load_only

from extensions import db
from models.base import utcnow
from models.runs import FINAL_STATUSES, WAITING_STATUSES, ActionRun

log = logging.getLogger("oppflow.engine")
_PENDING_KEY = "oppflow_enqueue"
_HOLD_KEY = "oppflow_hold"
RUN_JOB, DELIVER_JOB = "engine.jobs.run_action", "engine.jobs.deliver_webhook"
_LIVE_JOB = {s.value for s in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)}


def redis_conn(app: Flask | None = None) -> Redis:
    """One Redis client per app (connection-pooled)."""
    app = app or current_app
    conn = app.extensions.get("oppflow_redis")
    if conn is None:
        conn = app.extensions["oppflow_redis"] = Redis.from_url(app.config["REDIS_URL"])
    return conn


def get_queue(app: Flask | None = None) -> Queue:
    app = app or current_app
    return Queue(app.config["RQ_QUEUE"], connection=redis_conn(app))


def _arm(runs: list[ActionRun]) -> list[tuple[int, str]]:
    """Give each run a fresh job id and mark it enqueued, in the caller's transaction."""
    now = utcnow()
    out = []
    for run in runs:
        run.job_id = uuid.uuid4().hex
        run.enqueued_at = now
        out.append((run.id, run.job_id))
    return out


def _run_jobs(runs: list[ActionRun]) -> list[tuple]:
    """Armed runs as queue items; the job is told the run's kind, which says how it may claim the run
    (engine.executor.execute) before the run is read."""
    kinds = [run.kind for run in runs]
    return [(i, j, RUN_JOB, kind) for (i, j), kind in zip(_arm(runs), kinds, strict=True)]


def enqueue_after_commit(runs: list[ActionRun]) -> None:
    """Enqueue these runs once the current transaction commits; nothing is sent if it rolls back."""
    session = db.session()
    if not runs or session.info.get(_HOLD_KEY):
        return
    session.info.setdefault(_PENDING_KEY, []).extend(_run_jobs(runs))


def enqueue_deliveries_after_commit(deliveries: list) -> None:
    """Outbound webhook deliveries (engine.webhooks_out) go the same way as runs: armed in the caller's
    transaction, put on the queue once it commits, found again by the sweeper if Redis loses them."""
    if deliveries:
        enqueue_jobs_after_commit([(i, j, DELIVER_JOB) for i, j in _arm(deliveries)])


def enqueue_jobs_after_commit(jobs: list[tuple]) -> None:
    """(row id, job id, job function, *further arguments) items for the queue once the current transaction
    commits (long work of services.progress, webhook deliveries); nothing is sent if it rolls back."""
    session = db.session()
    if jobs and not session.info.get(_HOLD_KEY):
        session.info.setdefault(_PENDING_KEY, []).extend(jobs)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Runs created meanwhile are not put on the queue: they stay never-enqueued, for whoever executes
    them itself (the demo's replay), or else for the sweeper to dispatch when they fall due."""
    session = db.session()
    session.info[_HOLD_KEY] = True
    try:
        yield
    finally:
        session.info.pop(_HOLD_KEY, None)


def push(jobs: list[tuple], app: Flask | None = None) -> None:
    """Put (row id, job id[, job function, *further arguments]) items on the queue in one round trip: the
    function is run_action unless named (a webhook delivery's); it is called with the row id and the further
    arguments. A failure is logged, not raised: the sweeper enqueues the runs again once it sees their jobs
    missing."""
    if not jobs:
        return
    app = app or current_app
    queue = get_queue(app)
    timeout = app.config["ENGINE_JOB_TIMEOUT"]
    try:
        queue.enqueue_many([
            # result_ttl=0: the run row holds the outcome; RQ need not keep a copy.
            Queue.prepare_data(item[2] if len(item) > 2 else RUN_JOB, args=(item[0], *item[3:]), job_id=item[1],
                               timeout=timeout, result_ttl=0, failure_ttl=24 * 3600)
            for item in jobs
        ])
    except Exception:  # noqa: BLE001 - Redis down must not undo a committed user action
        log.exception("could not enqueue %d run(s); the sweeper will retry", len(jobs))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    jobs = session.info.pop(_PENDING_KEY, None)
    if jobs:
        push(jobs)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


# A named alias: the same SQL text every time, so SQLAlchemy's statement cache serves it.
_prev = aliased(ActionRun, name="prev_run")


def _in(column, values):
    return column.in_(values)


def _one_of(column, values):
    """column IN values, spelled `= a OR = b`: a literal IN list is an "expanding" parameter SQLAlchemy renders
    again at every execution (7% of the Python calls of a run executed in process); the same plan for a handful
    of values."""
    return or_(*(column == value for value in values))


def _ready(now, one_of):
    done = or_(ActionRun.after_run_id.is_(None),
               exists().where(_prev.id == ActionRun.after_run_id, one_of(_prev.status, FINAL_STATUSES)))
    return and_(one_of(ActionRun.status, WAITING_STATUSES), ActionRun.due_at <= now, done)


def ready_clause(now):
    """Waiting runs that are due and whose predecessor in the configured order has finished."""
    return _ready(now, _in)


def ready_clause_of_one(now):
    """ready_clause for a statement on one run by id, executed for every job (the claim): no IN list."""
    return _ready(now, _one_of)


_JOB_COLUMNS = load_only(ActionRun.id, ActionRun.job_id, ActionRun.kind, ActionRun.enqueued_at)
_alive_until: dict[str, float] = {}  # job id -> until when it was last seen queued or running


def _utc(rq_time: bytes):
    """A time as RQ writes it in a job's hash, as the naive UTC the database keeps."""
    return utcparse(rq_time.decode()).replace(tzinfo=None)


def _lost_jobs(runs: list[ActionRun]) -> list[ActionRun]:
    """Runs whose job Redis no longer holds as queued or running (flushed, restarted, or the job ended), or
    holds as started for longer than a lease: a run of a kind claimed with its first write
    (Kind.claim_with_first_write) shows no claim until then, so a worker that died before it left only its
    job "started" behind.
    One pipelined HMGET per job, and a job seen alive is not asked about again for a grace period:
    under a long backlog this check must stay cheap."""
    if not runs:
        return []
    clock = time.monotonic()
    for job_id, until in list(_alive_until.items()):
        if until < clock:
            del _alive_until[job_id]
    unknown = [r for r in runs if r.job_id not in _alive_until]
    if not unknown:
        return []
    pipe = redis_conn().pipeline(transaction=False)
    for run in unknown:
        pipe.hmget(Job.key_for(run.job_id or "-"), "status", "started_at")
    replies = pipe.execute()
    cfg = current_app.config
    lost, grace = [], cfg["ENGINE_REQUEUE_GRACE"]
    lease_ago = utcnow() - timedelta(seconds=cfg["ENGINE_LEASE_SECONDS"])
    for run, (status, started_at) in zip(unknown, replies, strict=True):
        status = status.decode() if status is not None else None
        if status == JobStatus.STARTED.value and started_at and _utc(started_at) < lease_ago:
            lost.append(run)
        elif status in _LIVE_JOB:
            _alive_until[run.job_id] = clock + grace
        else:
            lost.append(run)
    return lost


def stop_lost_effects(now) -> int:
    """A run left `sending` past its lease had a worker die during an external effect (an email may or
    may not have gone out): it is never done again by itself but put to `needs_review` (reason "lost"),
    for a person to check with the Message-ID in hand and retry. Returns how many."""
    result = db.session.execute(
        update(ActionRun).where(ActionRun.status == "sending", ActionRun.lease_until < now)
        .values(status="needs_review", reason="lost", finished_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.warning("%d run(s) stopped while sending: marked for review", result.rowcount)
    return result.rowcount


def sweep(batch: int = 500) -> int:
    """Enqueue every run that is due and not in the hands of a live worker; returns how many."""
    now = utcnow()
    stop_lost_effects(now)  # first: the runs ordered after them may then go in this same sweep
    grace = timedelta(seconds=current_app.config["ENGINE_REQUEUE_GRACE"])
    never_sent = db.session.execute(
        select(ActionRun).where(ready_clause(now), ActionRun.enqueued_at.is_(None))
        .order_by(ActionRun.due_at, ActionRun.id).limit(batch)
    ).scalars().all()
    # Under a backlog these are the queued runs, read again every sweep: only what _lost_jobs and _run_jobs use.
    sent_long_ago = db.session.execute(
        select(ActionRun).options(_JOB_COLUMNS).where(ready_clause(now), ActionRun.enqueued_at < now - grace)
        .order_by(ActionRun.due_at, ActionRun.id).limit(batch)
    ).scalars().all()
    # A lease that ran out means its worker died or hung: the lease, not Redis, is the authority.
    expired = and_(ActionRun.status == "running", ActionRun.lease_until < now)
    lease_expired = db.session.execute(
        select(ActionRun).where(expired, or_(ActionRun.enqueued_at.is_(None),
                                             ActionRun.enqueued_at < ActionRun.lease_until)).limit(batch)
    ).scalars().all()
    requeued_long_ago = db.session.execute(
        select(ActionRun).options(_JOB_COLUMNS).where(expired, ActionRun.enqueued_at >= ActionRun.lease_until,
                                ActionRun.enqueued_at < now - grace).limit(batch)
    ).scalars().all()
    runs = never_sent + lease_expired + _lost_jobs(sent_long_ago + requeued_long_ago)
    jobs = _run_jobs(runs)
    from engine import webhooks_out  # the deliveries due again, or whose job Redis lost

    jobs += [(i, j, DELIVER_JOB) for i, j in _arm(webhooks_out.due_deliveries(now, grace, batch, _lost_jobs))]
    from services import progress  # long work whose job Redis lost: queued again through the session

    progress.requeue_stale(now)
    db.session.commit()
    push(jobs)
    return len(jobs)


class Sweeper(threading.Thread):
    """Runs sweep() every ENGINE_SWEEP_INTERVAL seconds in one process at a time (a Redis lease)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="oppflow-sweeper", daemon=True)
        self.app = app
        self.stopping = threading.Event()
        self.token = uuid.uuid4().hex

    def _lead(self, conn: Redis, ttl_ms: int) -> bool:
        key = f"oppflow:sweeper:{self.app.config['RQ_QUEUE']}"
        if conn.set(key, self.token, nx=True, px=ttl_ms):
            return True
        if conn.get(key) == self.token.encode():
            conn.pexpire(key, ttl_ms)
            return True
        return False

    def run(self) -> None:
        interval = self.app.config["ENGINE_SWEEP_INTERVAL"]
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    if self._lead(redis_conn(self.app), int(interval * 4000)):
                        sweep()
            except Exception:  # noqa: BLE001 - a database or Redis hiccup must not end the loop
                log.exception("sweep failed; trying again")
            self.stopping.wait(interval)

    def stop(self) -> None:
        self.stopping.set()
