"""T3 Linked tasks (seed 003): at most three tasks per substate of an opportunity, added from the substate on
the opportunity page; completing all of them closes it (engine.trigger_types.linked_tasks)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Opportunity, Task, User
from services import ServiceError
from services.substates import _substate_of, may_act
from services.tasks import create_task

MAX_LINKED = 3


def linked_tasks(opp: Opportunity) -> dict[int, list[Task]]:
    """The opportunity's linked tasks by substate, oldest first."""
    out: dict[int, list[Task]] = {}
    for task in db.session.execute(select(Task).where(Task.opportunity_id == opp.id, Task.linked.is_(True))
                                   .order_by(Task.id)).scalars():
        out.setdefault(task.substate_id, []).append(task)
    return out


def add_linked_task(opp: Opportunity, substate_id: int, user: User, title: str, *, responsible_id: int | None,
                    deadline=None, description: str = "") -> Task:
    """Add a task linked to a substate of the opportunity; a fourth is refused (422) with the seed's limit."""
    substate = _substate_of(opp, substate_id)
    if not may_act(user, substate):
        raise ServiceError(_("You may not change this substate."), 403)
    count = db.session.execute(select(func.count()).select_from(Task).where(
        Task.opportunity_id == opp.id, Task.substate_id == substate.id, Task.linked.is_(True))).scalar_one()
    if count >= MAX_LINKED:
        raise ServiceError(_("A substate may have at most %(max)d linked tasks.", max=MAX_LINKED), 422)
    task = create_task(opp, title, description, responsible_id=responsible_id, deadline=deadline,
                       substate_id=substate.id, user=user)
    task.linked = True
    return task
