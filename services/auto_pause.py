"""Auto-pause (SPEC E10): an action whose runs fail N times in a row pauses itself — it creates no new runs
(engine.triggers leaves paused actions out, as it leaves out disabled ones) — tells the flow's managers, and
shows a banner in the designer until someone resumes it. N is an admin setting (0: never pause).

The count follows the engine's `run_failed` event, in the transaction that records the failure (dropped with
it if the worker lost its claim). A success costs nothing: the next failure asks whether a run of the action
succeeded since the last counted failure and, if so, starts counting again from one."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from extensions import db
from models import Action, ActionRun, User
from models.base import utcnow
from services import ServiceError, app_settings, events, notifications

SETTING = "auto_pause_failures"
DEFAULT_LIMIT = 5
MANAGE_PERMISSION = "opportunity_states.modify"
_action = Action.__table__


def limit() -> int:
    """N: failures in a row that pause an action (0: never); the admin's choice, else the default."""
    try:
        return max(0, int(app_settings.get(SETTING) or current_app.config.get("AUTO_PAUSE_FAILURES", DEFAULT_LIMIT)))
    except ValueError:
        return DEFAULT_LIMIT


def set_limit(text: str) -> int:
    """Store N from what an admin typed (a whole number 0–1000); ServiceError (422) otherwise, nothing saved."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit() and int(text) <= 1000):
        raise ServiceError(_("Enter a whole number from 0 (never pause) to 1000."))
    app_settings.put(SETTING, str(int(text)))
    return int(text)


def record_failure(run: ActionRun) -> bool:
    """Count a run's final failure against its action; True when this failure paused the action."""
    if run.action_id is None or run.trigger == "trigger":
        return False
    last = db.session.execute(select(_action.c.last_failed_run_id).where(_action.c.id == run.action_id)).scalar()
    # Any success of the action newer than the last counted failure breaks the streak (one index probe).
    broken = last is not None and db.session.execute(select(exists().where(
        ActionRun.action_id == run.action_id, ActionRun.id > last, ActionRun.status == "succeeded"))).scalar()
    streak = 1 if broken else _action.c.failure_streak + 1
    count = db.session.execute(
        update(_action).where(_action.c.id == run.action_id)
        .values(failure_streak=streak, last_failed_run_id=run.id).returning(_action.c.failure_streak)).scalar()
    n = limit()
    if not n or count is None or count < n:
        return False
    # Conditional: of two failures reaching N at once, one pauses and notifies.
    paused = db.session.execute(update(_action).where(_action.c.id == run.action_id, _action.c.paused_at.is_(None))
                                .values(paused_at=utcnow())).rowcount
    if paused:
        _notify_managers(db.session.get(Action, run.action_id), count)
    return bool(paused)


def _notify_managers(action: Action, count: int) -> None:
    """The flow's managers (internal users who may modify the flow) hear of the pause, with a link to it."""
    users = db.session.execute(select(User).where(User.active.is_(True), User.role != "partner")).scalars()
    managers = [u.id for u in users if MANAGE_PERMISSION in u.permissions]
    substate = action.substate
    # A plain path: this runs in a worker, where no request builds URLs.
    link = f"/settings/types/{substate.state.type_id}/substates/{substate.id}"
    from engine.kinds import KINDS

    label = str(KINDS[action.kind].label) if action.kind in KINDS else action.kind
    notifications.notify(managers, "action_paused", {"action": label, "substate": substate.name, "count": count},
                         link)


def resume(action: Action) -> bool:
    """Let a paused action create runs again, counting failures from zero; False if it was not paused."""
    if action.paused_at is None:
        return False
    action.paused_at, action.failure_streak, action.last_failed_run_id = None, 0, None
    return True


def paused_actions(substate_ids) -> list[Action]:
    """The paused actions among these substates' (the designer's banners)."""
    ids = list(substate_ids)
    if not ids:
        return []
    return list(db.session.execute(select(Action).where(Action.substate_id.in_(ids), Action.paused_at.is_not(None))
                                   .order_by(Action.id)).scalars())


def _on_failed(run: ActionRun, change=None) -> None:
    record_failure(run)


def subscribe() -> None:
    """Listen to runs failing for good (engine.triggers.subscribe calls it; connecting twice is harmless)."""
    events.run_failed.connect(_on_failed, weak=False)
