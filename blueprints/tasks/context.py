"""What the task pages and the opportunity page's Tasks section show, gathered for the templates (the page
and the htmx swap of a part read the same names: one source for both)."""

from flask_login import current_user

from blueprints.tasks.forms import TaskForm
from models import Opportunity, Task
from models.base import utcnow
from models.tasks import TASK_STATUSES
from services import tasks as task_svc


def may_add_task(user) -> bool:
    """Internal users who edit opportunities add tasks by hand (partners see the tasks only)."""
    return not user.is_partner and user.can("opportunities.edit")


def opportunity_tasks_context(opp: Opportunity, form: TaskForm | None = None, announce: str | None = None,
                              flow=None, people=None) -> dict:
    """The Tasks section of the opportunity page: its tasks and, for who may add one, the form (`flow`,
    `people`: what the page read already for its other parts)."""
    may_add = may_add_task(current_user)
    if may_add and form is None:
        form = TaskForm(formdata=None).fill(opp, flow, people)
    return {"opp": opp, "opp_tasks": task_svc.tasks_of(opp), "task_form": form if may_add else None,
            "tasks_announce": announce, "now": utcnow()}


def status_context(task: Task, error: str | None = None, announce: str | None = None) -> dict:
    """The task page's status block: status, who changed it when, and the form for its people."""
    return {"task": task, "changes": task_svc.status_changes(task), "may_change": task_svc.may_change(current_user, task),
            "status_error": error, "announce": announce, "now": utcnow(), "task_statuses": TASK_STATUSES}
