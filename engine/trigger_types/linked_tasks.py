"""T3 Linked tasks (seed 003): up to three tasks added from a substate on the opportunity page; when the last
of them is completed — from the task list or under the substate — the substate closes (ticks) through the
engine, unless it asks for a note or required fields are still empty (a person must close it then)."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.trigger_types import firing
from extensions import db
from models import Task
from services import close_requirements, events

RECORD_KIND = "linked_tasks"


def _on_task_status_changed(task, change: events.TaskChange) -> None:
    if not task.linked or task.substate_id is None or change.new_status != "completed":
        return
    open_left = db.session.execute(select(func.count()).select_from(Task).where(
        Task.opportunity_id == task.opportunity_id, Task.substate_id == task.substate_id, Task.linked.is_(True),
        Task.status != "completed")).scalar_one()
    if open_left:
        return
    opp, sub = task.opportunity, task.substate
    outcome = None
    if sub.requires_note:
        outcome = ("skipped", "needs_note")
    elif close_requirements.missing_fields(opp, sub):
        outcome = ("skipped", "needs_fields")
    firing.close_by_automation(RECORD_KIND, opp, sub, at=change.at, chain=change.chain,
                               result={"task_id": task.id, "change_id": change.change_id},
                               config={"name": sub.label}, outcome=outcome)


def subscribe() -> None:
    events.task_status_changed.connect(_on_task_status_changed, weak=False)
