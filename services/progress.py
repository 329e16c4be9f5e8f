"""Long work with a progress bar (issue 14 item 8). A kind of long work is a plug-in: a function that does
the next slice of the work from `job.cursor` and says whether more remains. The worker runs slices for about a
second, commits the progress, and puts the job back at the end of the queue, so action runs keep flowing while
a bulk retry of 10,000 runs or a run-now over a long list goes on; a cancel takes effect between slices."""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from extensions import db
from models.accounts import User
from models.base import utcnow
from models.progress import ACTIVE, LongJob

log = logging.getLogger("oppflow.progress")
JOB = "engine.jobs.run_long_job"
SLICE_SECONDS = 1.0
# A running job whose worker has not reported for this long is taken to be lost and queued again.
STALE = timedelta(minutes=2)


@dataclass(frozen=True)
class Kind:
    """`work(job) -> bool` does one slice (advancing job.cursor and job.done, adding to job.result) and
    returns whether more remains; `label` names the work in lists; `describe(job)` says what it did."""

    key: str
    label: object
    work: Callable[[LongJob], bool]
    describe: Callable[[LongJob], str]
    back_url: Callable[[LongJob], str | None] = lambda job: None


KINDS: dict[str, Kind] = {}
# The modules that register kinds of long work; imported on first use, in the web process and the worker.
KIND_MODULES: list[str] = ["services.bulk_retry", "services.run_now"]


def register(kind: Kind) -> Kind:
    """Add a kind of long work (each module registers its own at import)."""
    KINDS[kind.key] = kind
    return kind


def _load() -> dict[str, Kind]:
    for name in KIND_MODULES:
        importlib.import_module(name)
    return KINDS


def kind_of(job: LongJob) -> Kind | None:
    """The plug-in that does this job's work (None if its module is gone)."""
    return _load().get(job.kind)


def start(kind: str, user: User, params: dict, total: int) -> LongJob:
    """Record a piece of long work for `user` and queue it once the caller's transaction commits."""
    if kind not in _load():
        raise KeyError(kind)
    job = LongJob(kind=kind, user_id=user.id, params=params, total=total, result={})
    db.session.add(job)
    db.session.flush()
    _enqueue_after_commit(job)
    return job


def _enqueue_after_commit(job: LongJob) -> None:
    from engine import dispatch

    job.queued_at, job.heartbeat_at = utcnow(), None
    dispatch.enqueue_jobs_after_commit([(job.id, uuid.uuid4().hex, JOB)])


def visible_job(user: User, job_id: int) -> LongJob | None:
    """The job if `user` started it (or is an admin); None otherwise, which the routes answer with 404."""
    job = db.session.get(LongJob, job_id)
    if job is None or (job.user_id != user.id and not user.is_admin):
        return None
    return job


def recent(user: User, kind: str | None = None, limit: int = 20) -> list[LongJob]:
    """The user's latest long work, newest first (the page that started it finds it again here)."""
    stmt = select(LongJob).where(LongJob.user_id == user.id)
    if kind:
        stmt = stmt.where(LongJob.kind == kind)
    return list(db.session.execute(stmt.order_by(LongJob.id.desc()).limit(limit)).scalars())


def active(user: User, kind: str) -> list[LongJob]:
    """The user's work of this kind still waiting or running."""
    return [job for job in recent(user, kind) if job.active]


def cancel(job: LongJob) -> bool:
    """Ask the work to stop between two slices (a queued job stops before it starts); False if it had ended."""
    if not job.active:
        return False
    job.cancel_requested = True
    return True


def run(job_id: int) -> str:
    """Worker side: claim the job, do slices for about a second, then commit and queue the rest."""
    now = utcnow()
    claimed = db.session.execute(
        update(LongJob).where(LongJob.id == job_id, LongJob.status.in_(ACTIVE),
                              or_(LongJob.heartbeat_at.is_(None), LongJob.heartbeat_at < now - STALE))
        .values(status="running", heartbeat_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    if not claimed.rowcount:
        return "not claimed"
    job = db.session.get(LongJob, job_id)
    kind = kind_of(job)
    started, more = time.monotonic(), True
    try:
        if kind is None:
            raise LookupError(f"no kind of long work {job.kind!r}")
        while more:  # at least one step per slice, however short the slice
            db.session.refresh(job, ["cancel_requested"])
            if job.cancel_requested:
                return _finish(job, "cancelled")
            more = kind.work(job)
            job.heartbeat_at = utcnow()
            db.session.commit()
            if time.monotonic() - started >= SLICE_SECONDS:
                break
    except Exception as exc:  # noqa: BLE001 - the job records what stopped it, the worker goes on
        db.session.rollback()
        log.exception("long job %s failed", job_id)
        job = db.session.get(LongJob, job_id)
        job.error = f"{type(exc).__name__}: {exc}"[:2000]
        return _finish(job, "failed")
    if not more:
        return _finish(job, "done")
    # Another slice: back at the end of the queue, behind the runs this slice may have created.
    _enqueue_after_commit(job)
    db.session.commit()
    return "continued"


def _finish(job: LongJob, status: str) -> str:
    job.status, job.finished_at, job.heartbeat_at = status, utcnow(), None
    db.session.commit()
    return status


def requeue_stale(now) -> int:
    """Sweeper side: queue again the work whose job Redis lost (queued or between slices for too long)."""
    lost = db.session.execute(select(LongJob).where(
        LongJob.status.in_(ACTIVE),
        or_(LongJob.heartbeat_at < now - STALE,
            LongJob.heartbeat_at.is_(None) & (LongJob.queued_at < now - STALE)))).scalars().all()
    for job in lost:
        _enqueue_after_commit(job)
    return len(lost)


def poll_seconds() -> float:
    """How often an open progress bar asks again."""
    return current_app.config.get("PROGRESS_POLL_SECONDS", 1)
