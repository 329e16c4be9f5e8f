"""Services over action runs that people start: retry a failed run (SPEC E7, E8, H2)."""

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from engine import dispatch
from extensions import db
from models import User
from models.base import utcnow
from models.runs import ActionRun
from services import ServiceError

RETRYABLE = ("failed", "needs_review")
_table = ActionRun.__table__


def retry_run(run: ActionRun, user: User) -> ActionRun:
    """A new attempt of a failed run for the same action and opportunity, with the action's current
    config (the usual fix is to correct the action, then retry); the old run stays in the history as it
    was. Enqueued after the caller commits. The new run links back to the old one (`parent_run_id`,
    trigger "retry"): a send-email retry uses that to write only to the recipients the failed run (or an
    earlier retry) did not reach (engine.outbox).

    A failed run is retried once (SPEC E7): the old run records its retry in `retried_by_id` with a
    conditional UPDATE, so of two requests at the same moment one wins and the other gets a 409 and
    creates nothing. Two retries of one run would both be children of it and neither would see what the
    other sent. A retry that fails in turn is retried from its own row."""
    if run.retried_by_id is not None:
        raise ServiceError(_("This run was already retried (#%(id)d).", id=run.retried_by_id), 409)
    if run.trigger == "trigger":  # a trigger's run records a firing: no action to run again
        raise ServiceError(_("A trigger's run cannot be retried: open the substate by hand if it should be."), 409)
    if run.status not in RETRYABLE:
        raise ServiceError(_("Only a failed run can be retried."), 409)
    new = ActionRun(action_id=run.action_id, opportunity_id=run.opportunity_id, substate_id=run.substate_id,
                    kind=run.kind,
                    config=dict((run.action.config if run.action else run.config) or {}), trigger="retry",
                    status="pending", due_at=utcnow(), chain_id=run.chain_id, chain_depth=run.chain_depth,
                    parent_run_id=run.id, user_id=user.id, result={}, attempts=0, sequence=0)
    db.session.add(new)
    db.session.flush()
    # The row as it is in the database now, not as this request loaded it: a concurrent retry that
    # committed first (or is still holding the row) makes this match nothing.
    taken = db.session.execute(
        _table.update()
        .where(_table.c.id == run.id, _table.c.retried_by_id.is_(None), _table.c.status.in_(RETRYABLE))
        .values(retried_by_id=new.id)
    ).rowcount
    if taken != 1:
        db.session.delete(new)
        db.session.flush()
        db.session.expire(run)
        raise ServiceError(_("This run was already retried."), 409)
    set_committed_value(run, "retried_by_id", new.id)  # what the database holds now, no second UPDATE
    dispatch.enqueue_after_commit([new])
    return new
