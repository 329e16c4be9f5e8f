"""Edits and waiting runs (SPEC D13): editing, disabling or deleting a scheduled action whose runs still wait
asks what to do with them, and does it: keep them as planned, apply the new settings (config and due time
recomputed from the substate's opening, through the same working-hours rule), or cancel them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from engine import triggers
from extensions import db
from models import Action, ActionRun, OpportunitySubstate
from models.base import utcnow
from models.runs import WAITING_STATUSES

CHOICES = {
    "keep": _l("Keep them as planned"),
    "apply": _l("Apply the new settings to them"),
    "cancel": _l("Cancel them"),
}
# Disabling or deleting leaves no new settings to apply: keep or cancel.
CHOICES_WITHOUT_APPLY = ("keep", "cancel")


def waiting(action: Action | None) -> list[ActionRun]:
    """The action's scheduled runs that have not started, soonest first."""
    if action is None or action.id is None:
        return []
    return list(db.session.execute(
        select(ActionRun).options(selectinload(ActionRun.opportunity))
        .where(ActionRun.action_id == action.id, ActionRun.trigger == "scheduled",
               ActionRun.status.in_(WAITING_STATUSES))
        .order_by(ActionRun.due_at, ActionRun.id)).scalars())


def cancel(run_ids: list[int]) -> int:
    """Cancel these runs, those still waiting (one a worker took meanwhile is left to finish)."""
    if not run_ids:
        return 0
    result = db.session.execute(
        update(ActionRun).where(ActionRun.id.in_(run_ids), ActionRun.status.in_(WAITING_STATUSES))
        .values(status="cancelled", finished_at=utcnow(), reason="action_changed")
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def _opened_at(run: ActionRun):
    return db.session.execute(
        select(OpportunitySubstate.opened_at).where(OpportunitySubstate.opportunity_id == run.opportunity_id,
                                                    OpportunitySubstate.substate_id == run.substate_id)
    ).scalar_one_or_none() or run.created_at


def apply_settings(action: Action, run_ids: list[int]) -> int:
    """Give the waiting runs the action's saved settings: its kind and config, and the due time its delay
    gives from the substate's opening; a run no longer for the opportunity's channel is skipped."""
    if action.group != "scheduled" or not action.enabled:
        return cancel(run_ids)  # no longer a scheduled action that runs: nothing left to wait for
    changed = 0
    for run in waiting(action):
        if run.id not in run_ids:
            continue
        values: dict = {"kind": action.kind, "config": dict(action.config or {})}
        if not triggers._applies(action, run.opportunity):
            values.update(status="skipped", reason="channel", finished_at=utcnow())
        else:
            due = triggers.due_of(action, run.opportunity, _opened_at(run))
            if due is None:
                values.update(status="needs_review", reason="no_working_day", finished_at=utcnow())
            else:
                values["due_at"] = due
        result = db.session.execute(
            update(ActionRun).where(ActionRun.id == run.id, ActionRun.status.in_(WAITING_STATUSES))
            .values(**values).execution_options(synchronize_session=False))
        changed += result.rowcount or 0
    return changed


def resolve(action: Action, run_ids: list[int], choice: str) -> int:
    """Do what the person chose with the runs listed to them; how many runs changed."""
    if choice == "cancel":
        return cancel(run_ids)
    if choice == "apply":
        return apply_settings(action, run_ids)
    return 0
