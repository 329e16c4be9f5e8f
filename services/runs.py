"""Services over action runs that people start: retry a failed run (SPEC E8, H2)."""

from flask_babel import gettext as _

from engine import dispatch
from extensions import db
from models import User
from models.base import utcnow
from models.runs import ActionRun
from services import ServiceError

RETRYABLE = ("failed", "needs_review")


def retry_run(run: ActionRun, user: User) -> ActionRun:
    """A new attempt of a failed run for the same action and opportunity, with the action's current
    config (the usual fix is to correct the action, then retry); the old run stays in the history as it
    was. Enqueued after the caller commits. The new run links back to the old one (`parent_run_id`,
    trigger "retry"): a send-email retry uses that to write only to the recipients the failed run (or an
    earlier retry) did not reach (engine.outbox)."""
    if run.status not in RETRYABLE:
        raise ServiceError(_("Only a failed run can be retried."), 409)
    new = ActionRun(action_id=run.action_id, opportunity_id=run.opportunity_id, substate_id=run.substate_id,
                    kind=run.kind,
                    config=dict((run.action.config if run.action else run.config) or {}), trigger="retry", status="pending",
                    due_at=utcnow(), chain_id=run.chain_id, chain_depth=run.chain_depth, parent_run_id=run.id,
                    user_id=user.id, result={}, attempts=0, sequence=0)
    db.session.add(new)
    db.session.flush()
    dispatch.enqueue_after_commit([new])
    return new
