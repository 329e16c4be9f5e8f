"""Tasks (incarichi, seed 002): create, change status, and who may see and change them. One service for
the pages, the action kinds (M3 Create task, M4 Complete tasks) and later the API.

A status change is recorded (TaskStatusChange: who and when) and announced (events.task_status_changed)
in the caller's transaction, so a trigger that listens opens its substate in that same transaction."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, exists, insert, or_, select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Opportunity, Task, TaskPerson, TaskStatusChange, User
from models.base import utcnow
from models.tasks import TASK_STATUSES
from services import ServiceError, events
from services.access import scope_opportunities
from services.events import Chain, TaskChange
from services.validation import InvalidData

TITLE_MAX = 200
DESCRIPTION_MAX = 5000


def scope_tasks(stmt: Select, user: User) -> Select:
    """Restrict a query over Task to what the user may see: the tasks of the opportunities the user may
    see (partners: those assigned to their company), through the one opportunity-scoping rule."""
    if not user.is_partner:
        return stmt
    visible = scope_opportunities(select(Opportunity.id), user).where(Opportunity.id == Task.opportunity_id)
    return stmt.where(exists(visible))


def visible_tasks(user: User) -> Select:
    """Select every task the user may see."""
    return scope_tasks(select(Task), user)


def get_task_or_404(task_id: int, user: User) -> Task:
    """The task if the user may see it; otherwise a 404 ServiceError, never a hint that it exists."""
    task = db.session.execute(scope_tasks(select(Task).where(Task.id == task_id), user)).scalar_one_or_none()
    if task is None:
        raise ServiceError(_("This task does not exist."), 404)
    return task


def people_of(task: Task) -> set[int]:
    """The users a task concerns: responsible, participants and creator (observers only watch)."""
    ids = {task.responsible_id, task.created_by_id, *task.user_ids("participant")}
    ids.discard(None)
    return ids


def may_change(user: User, task: Task) -> bool:
    """Its people change a task's status; so do internal users who edit opportunities (supervisors,
    managers). The caller has already scoped the task to the user."""
    if user.id in people_of(task):
        return True
    return not user.is_partner and user.can("opportunities.edit")


def mine(stmt: Select, user: User, which: str) -> Select:
    """Narrow a task query: "mine" (responsible), "involved" (participant or observer), "all"."""
    if which == "mine":
        return stmt.where(Task.responsible_id == user.id)
    if which == "involved":
        return stmt.where(or_(Task.responsible_id == user.id, exists(
            select(TaskPerson.task_id).where(TaskPerson.task_id == Task.id, TaskPerson.user_id == user.id))))
    return stmt


def _clean(title: str, description: str) -> tuple[str, str]:
    title, description = (title or "").strip(), (description or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Give the task a title.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most %(max)d characters.", max=TITLE_MAX)
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("At most %(max)d characters.", max=DESCRIPTION_MAX)
    if errors:
        raise InvalidData(errors)
    return title, description


def create_task(opp: Opportunity, title: str, description: str = "", *, responsible_id: int | None,
                deadline: datetime | None = None, participants=(), observers=(), substate_id: int | None = None,
                user: User | None = None, run_id: int | None = None) -> Task:
    """Add a task to the opportunity: by a person (`user`) or by a run (`run_id`, automation)."""
    title, description = _clean(title, description)
    task = Task(opportunity_id=opp.id, substate_id=substate_id, title=title, description=description,
                responsible_id=responsible_id, deadline=deadline, status="todo", created_at=utcnow(),
                created_by_id=user.id if user else None, run_id=run_id, by_automation=run_id is not None)
    seen = {responsible_id}
    for role, ids in (("participant", participants), ("observer", observers)):
        for uid in dict.fromkeys(ids or ()):
            if uid not in seen:  # one role per person: the responsible is not also a participant
                seen.add(uid)
                task.people.append(TaskPerson(user_id=uid, role=role))
    db.session.add(task)
    db.session.flush()
    return task


def change_status(task: Task, status: str, user: User | None, *, run_id: int | None = None,
                  chain: Chain | None = None) -> TaskStatusChange | None:
    """Set a task's status, recording who and when, and announce it so triggers may fire (in this
    transaction). Setting the status it already has changes nothing and returns None."""
    if status not in TASK_STATUSES:
        raise InvalidData({"status": _("Choose a status from the list.")})
    if user is not None and not may_change(user, task):
        raise ServiceError(_("You may not change this task."), 403)
    if task.status == status:
        return None
    now, old = utcnow(), task.status
    task.status, task.status_changed_at, task.status_changed_by_id = status, now, user.id if user else None
    change_id = db.session.execute(
        insert(TaskStatusChange).values(task_id=task.id, from_status=old, to_status=status, at=now,
                                        user_id=user.id if user else None, run_id=run_id)
        .returning(TaskStatusChange.id)
    ).scalar_one()
    events.task_status_changed.send(task, change=TaskChange(task, old, status, now, user, chain or Chain(),
                                                            change_id))
    return db.session.get(TaskStatusChange, change_id)


def status_changes(task: Task) -> list[TaskStatusChange]:
    """The task's status changes, oldest first."""
    return list(db.session.execute(select(TaskStatusChange).options(selectinload(TaskStatusChange.user))
                                   .where(TaskStatusChange.task_id == task.id).order_by(TaskStatusChange.id)).scalars())


def tasks_of(opp: Opportunity) -> list[Task]:
    """The opportunity's tasks: open ones first by deadline, then the others newest first."""
    return list(db.session.execute(
        select(Task).options(selectinload(Task.responsible)).where(Task.opportunity_id == opp.id)
        .order_by(Task.status.notin_(("todo", "in_progress")), Task.deadline.is_(None), Task.deadline,
                  Task.id.desc())
    ).scalars())
