"""Bulk retry (SPEC E10, issue 14 item 8): retry every run a failure-inbox filter names, as long work with a
progress bar (services.progress, kind "bulk_retry"). Each run is retried at most once, by the rule of a single
retry (services.runs.retry_run: the old run's `retried_by_id` taken with a conditional UPDATE), here for a
few hundred runs per statement so that 10,000 retries are queued in seconds. Two bulk retries over the same
runs, or a bulk and a single retry, never retry one run twice: whichever claims a run first retries it, the
other counts it as already retried."""

from __future__ import annotations

import uuid

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import JSON, DateTime, String, case, cast, func, insert, literal, select, update

from engine import dispatch
from extensions import db
from models import Action, ActionRun, User
from models.base import utcnow
from models.progress import LongJob
from services import ServiceError, failure_inbox, progress
from services.failure_inbox import Filters
from services.runs import RETRYABLE

KIND = "bulk_retry"
BATCH = 500  # runs per slice step: a few statements each, a few hundred rows per statement
CASE_ROWS = 50
_run = ActionRun.__table__
_action = Action.__table__


def start(user: User, filters: Filters) -> LongJob:
    """Queue the retry of the runs the filters name now (not the failures of the retries it starts)."""
    upto = db.session.execute(select(func.max(_run.c.id))).scalar() or 0
    total = failure_inbox.count(user, filters, upto)
    if not total:
        raise ServiceError(_("No run matches these filters: there is nothing to retry."), 409)
    return progress.start(KIND, user, {"filters": filters.params(), "upto": upto}, total)


def retry_many(run_ids: list[int], user: User) -> list[int]:
    """Retry these runs, each only if no one has yet (a new pending run per old one, queued after the commit);
    the ids of the runs this call retried."""
    if not run_ids:
        return []
    # The claim: retried_by_id set to the run itself for the instant of this transaction (a valid reference)
    # by one conditional UPDATE; rows another retry took (or holds) are not returned.
    claimed = db.session.execute(
        update(_run).where(_run.c.id.in_(run_ids), _run.c.retried_by_id.is_(None), _run.c.status.in_(RETRYABLE),
                           _run.c.trigger != "trigger")
        .values(retried_by_id=_run.c.id).returning(_run.c.id)
        .execution_options(synchronize_session=False)).scalars().all()
    if not claimed:
        return []
    # The new runs are written by the database from the old ones (INSERT … SELECT): rows sent from Python
    # cost PostgreSQL ~1 ms each under RETURNING, and Python the reading and building of them.
    now, prefix = utcnow(), uuid.uuid4().hex[:24]
    action_config = select(_action.c.config).where(_action.c.id == _run.c.action_id).scalar_subquery()
    source = select(
        _run.c.action_id, _run.c.opportunity_id, _run.c.substate_id, _run.c.kind,
        case((_run.c.action_id.is_not(None), func.coalesce(action_config, _run.c.config)), else_=_run.c.config),
        literal("retry"), literal("pending"), literal(now, DateTime), literal(now, DateTime), literal(now, DateTime),
        literal(prefix + "-") + cast(_run.c.id, String), _run.c.chain_id, _run.c.chain_depth, _run.c.id,
        literal(user.id), literal({}, JSON), literal(0), literal(0), literal(False),
    ).where(_run.c.id.in_(claimed)).order_by(_run.c.id)
    columns = ["action_id", "opportunity_id", "substate_id", "kind", "config", "trigger", "status", "due_at",
               "created_at", "enqueued_at", "job_id", "chain_id", "chain_depth", "parent_run_id", "user_id",
               "result", "attempts", "sequence", "has_next"]
    new = db.session.execute(insert(_run).from_select(columns, source)
                             .returning(_run.c.id, _run.c.parent_run_id, _run.c.job_id)).all()
    # Each old run points at its retry: an UPDATE with a CASE per CASE_ROWS runs, not one per run (a CASE is
    # read branch by branch for every row: over all 500 it cost PostgreSQL 200 ms a batch).
    pairs = [(parent, new_id) for new_id, parent, _job in new]
    for i in range(0, len(pairs), CASE_ROWS):
        chunk = dict(pairs[i:i + CASE_ROWS])
        db.session.execute(update(_run).where(_run.c.id.in_(list(chunk)))
                           .values(retried_by_id=case(chunk, value=_run.c.id))
                           .execution_options(synchronize_session=False))
    dispatch.enqueue_jobs_after_commit([(new_id, job_id, dispatch.RUN_JOB) for new_id, _parent, job_id in new])
    return [parent for _new_id, parent, _job in new]


def work(job: LongJob) -> bool:
    """One slice: the next BATCH candidate runs after the cursor, those of the filtered group retried."""
    filters, upto = Filters.of(job.params.get("filters")), job.params.get("upto") or 0
    rows = db.session.execute(failure_inbox.candidates(job.user, filters)
                              .where(ActionRun.id > job.cursor, ActionRun.id <= upto)
                              .order_by(ActionRun.id).limit(BATCH)).all()
    matching = [row.id for row in rows if failure_inbox.matches(filters, row)]
    retried = len(retry_many(matching, job.user))
    result = job.result or {}
    job.result = {"retried": result.get("retried", 0) + retried,
                  "skipped": result.get("skipped", 0) + len(matching) - retried}
    if rows:
        job.cursor = rows[-1].id
    job.done = min(job.total, job.done + len(matching))
    more = len(rows) == BATCH
    if not more:  # runs retried by someone else since the count no longer match: they were skipped too
        job.done, job.result = job.total, {**job.result, "skipped": max(0, job.total - job.result["retried"])}
    return more


def describe(job: LongJob) -> str:
    """What the bulk retry did, as the finished bar says it."""
    result = job.result or {}
    text = ngettext("%(num)d run retried.", "%(num)d runs retried.", result.get("retried", 0))
    if result.get("skipped"):
        text += " " + ngettext("%(num)d was already retried by someone else.",
                               "%(num)d were already retried by someone else.", result["skipped"])
    return text


def back_url(job: LongJob) -> str:
    """The failure inbox, filtered as the retry was."""
    f = Filters.of((job.params or {}).get("filters"))
    args = {"type": f.type_id, "action": f.action_id, "error": f.error, "from": f.date_from, "to": f.date_to}
    return url_for("inbox.index", **{k: v for k, v in args.items() if v})


progress.register(progress.Kind(KIND, _l("Bulk retry"), work, describe, back_url))
