"""History tab Tasks (seed 002, M3 and M4): the tasks a Create-task run created and, one row per task, the
tasks a Complete-tasks run completed (its TaskStatusChange rows carry the run id)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import and_, case, func
from sqlalchemy.orm import aliased

from models import ActionRun, Task, TaskStatusChange, User
from models.tasks import TASK_STATUSES
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_status,
    run_statuses,
    status_column,
    when_column,
)
from services.history.shown import labelled, run_status_shown, user_matches

# Two task rows are joined, each by an index: the one a Create-task run created (task.run_id) and the one a
# Complete-tasks run's status change names (task_status_change.run_id → task.id). A row has one of them.
CreatedTask = aliased(Task, name="created_task")
ChangedTask = aliased(Task, name="changed_task")
Responsible = aliased(User, name="task_responsible")

TITLE = func.coalesce(ChangedTask.title, CreatedTask.title)
DEADLINE = func.coalesce(ChangedTask.deadline, CreatedTask.deadline)
TASK_STATUS = func.coalesce(ChangedTask.status, CreatedTask.status)

ACTIONS = {
    "created": (lazy_pgettext("task history", "Created"), ActionRun.kind == "create_task"),
    "completed": (lazy_pgettext("task history", "Completed"), ActionRun.kind == "complete_tasks"),
}
ACTION_OF_KIND = {"create_task": "created", "complete_tasks": "completed"}


def _task(row) -> Task | None:
    return row[3] or row[4]


def _status(row) -> tuple[str, str]:
    """A succeeded run shows its task's status now (to do, in progress, completed, deferred); a run without
    a task, or not succeeded, its own status (waiting, failed, skipped and why)."""
    task = _task(row)
    if row[0].status == "succeeded" and task is not None:
        return task.status_label, "succeeded" if task.status == "completed" else "pending"
    return run_status(row[0])


def _status_shown():
    """_status in SQL, in the user's language (for the sort)."""
    return case((and_(ActionRun.status == "succeeded", TASK_STATUS.is_not(None)), labelled(TASK_STATUS, TASK_STATUSES)),
                else_=run_status_shown())


STATUSES = {
    **{key: (label, and_(ActionRun.status == "succeeded", TASK_STATUS == key)) for key, label in TASK_STATUSES.items()},
    **run_statuses(*COMMON_STATUSES),
}


def _task_link(row) -> str | None:
    task = _task(row)
    return f"/tasks/{task.id}" if task is not None else None


TAB = register(Tab(
    key="tasks", label=_l("Tasks"), kinds=("create_task", "complete_tasks"), position=80,
    entities=(TaskStatusChange, ChangedTask, CreatedTask, Responsible.name),
    join=lambda stmt: stmt.outerjoin(TaskStatusChange, TaskStatusChange.run_id == ActionRun.id)
    .outerjoin(ChangedTask, ChangedTask.id == TaskStatusChange.task_id)
    .outerjoin(CreatedTask, CreatedTask.run_id == ActionRun.id)
    .outerjoin(Responsible, Responsible.id == func.coalesce(ChangedTask.responsible_id, CreatedTask.responsible_id)),
    # A Complete-tasks run has one row per task it completed.
    detail_id=TaskStatusChange.id,
    columns=[
        opportunity_column(),
        Column("task", _l("Task"), TITLE, lambda row: _task(row).title if _task(row) else "", link=_task_link),
        Column("responsible", _l("Responsible"), Responsible.name, lambda row: row[5] or "",
               match=user_matches(func.coalesce(ChangedTask.responsible_id, CreatedTask.responsible_id))),
        Column("deadline", _l("Deadline"), DEADLINE, lambda row: _task(row).deadline if _task(row) else None,
               filter="date"),
        Column("action", _l("Action"), ActionRun.kind, lambda row: str(ACTIONS[ACTION_OF_KIND[row[0].kind]][0]),
               filter="select", options=ACTIONS,
               shown=lambda: labelled(ActionRun.kind, {kind: ACTIONS[key][0] for kind, key in ACTION_OF_KIND.items()})),
        when_column(),
        status_column(STATUSES, _status, _status_shown),
    ],
))
