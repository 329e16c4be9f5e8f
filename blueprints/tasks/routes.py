"""Tasks: the list (mine, where I take part, all I may see), the task page with its status change, and
adding a task on the opportunity page.

Every route scopes first (services.tasks.get_task_or_404, services.access.get_opportunity_or_404): a
partner user gets 404 for a task of an opportunity not assigned to their company, whatever the ids.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.opportunities import (
    page as opportunity_page,  # the module: page.py imports this package's context
)
from blueprints.page_cache import cached_page
from blueprints.tasks import bp
from blueprints.tasks.context import may_add_task, opportunity_tasks_context, status_context
from blueprints.tasks.forms import DEFAULT_TIME, TaskForm
from extensions import db
from models.base import utcnow
from models.tasks import TASK_STATUSES
from services import task_list
from services import tasks as task_svc
from services.access import get_opportunity_or_404
from services.validation import InvalidData, show_on_form


@bp.route("/tasks")
@login_required
@cached_page
def index():
    """The task list: a view, filters and keyset paging; htmx gets the table alone (and the URL is pushed)."""
    filters = task_list.parse_filters(request.args)
    ctx = {"filters": filters, "result": task_list.task_page(filters, current_user), "args": request.args,
           "statuses": TASK_STATUSES, "views": task_list.VIEWS, "now": utcnow()}
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("tasks/_table.html", **ctx)
    return render_template("tasks/index.html", responsibles=task_list.responsible_choices(current_user), **ctx)


@bp.route("/tasks/<int:task_id>")
@login_required
def detail(task_id: int):
    """A task: what, on which opportunity, whose, by when, who created it, and its status with its log."""
    task = task_svc.get_task_or_404(task_id, current_user)
    return render_template("tasks/detail.html", **status_context(task))


@bp.route("/tasks/<int:task_id>/status", methods=["POST"])
@login_required
def change_status(task_id: int):
    """Change a task's status (its people): htmx swaps the status block; a plain post redirects back.
    One commit after the service, so what a trigger did in the change (services.events) is saved with it."""
    task = task_svc.get_task_or_404(task_id, current_user)
    if not task_svc.may_change(current_user, task):
        abort(403)
    status = request.form.get("status", "")[:40]
    try:
        change = task_svc.change_status(task, status, current_user)
    except InvalidData as err:
        db.session.rollback()
        return _status_back(task, None, error=err.errors.get("status", err.message), code=422)
    db.session.commit()
    message = _("Status changed to %(status)s.", status=task.status_label) if change else None
    return _status_back(task, message)


def _status_back(task, message: str | None, error: str | None = None, code: int = 200):
    if request.htmx:
        return render_template("tasks/_status.html", **status_context(task, error, message)), code
    if error:
        return render_template("tasks/detail.html", **status_context(task, error)), code
    if message:
        flash(message, "success")
    return redirect(url_for("tasks.detail", task_id=task.id))


@bp.route("/opportunities/<int:opp_id>/tasks", methods=["POST"])
@login_required
def create(opp_id: int):
    """Add a task to the opportunity (internal users who edit opportunities): htmx swaps the Tasks
    section; a refused form comes back with its messages (422) and nothing saved."""
    opp = get_opportunity_or_404(opp_id)
    if not may_add_task(current_user):
        abort(403)
    form = TaskForm().fill(opp)
    if form.validate():
        try:
            task_svc.create_task(opp, form.title.data, form.description.data or "",
                                 responsible_id=form.responsible_id.data or None, deadline=_deadline(form),
                                 participants=form.participants.data or (), observers=form.observers.data or (),
                                 substate_id=form.substate_id.data, user=current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            message = _("Task added.")
            if request.htmx:
                return render_template("tasks/_opportunity_tasks.html",
                                       **opportunity_tasks_context(opp, announce=message))
            flash(message, "success")
            return redirect(url_for("opportunities.detail", opp_id=opp.id, _anchor="tasks"))
    if request.htmx:
        return render_template("tasks/_opportunity_tasks.html", **opportunity_tasks_context(opp, form)), 422
    return render_template("opportunities/detail.html", **{**opportunity_page.page_context(opp), **opportunity_tasks_context(opp, form)}), 422


def _deadline(form: TaskForm):
    """The deadline typed in the user's time zone (date, and time or the field's default), as naive UTC."""
    if form.deadline_date.data is None:
        return None
    at = form.deadline_time.data or DEFAULT_TIME
    return task_list.local_to_utc(form.deadline_date.data, at, current_user)
