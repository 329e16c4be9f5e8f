"""The flow panel of the opportunity page: opening and closing substates — a close that needs fields or a
note asks for them inline (D4, T2) — and the tasks linked to a substate (T3, seed 003's "Add activity").

Every route scopes the opportunity first (get_opportunity_or_404): a partner user gets 404 for one not
assigned to their company. htmx gets the flow panel back, also with a 422 (static/js/app.js swaps 422s);
a plain form post gets the whole page (422) or a redirect to it.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.opportunities import bp
from blueprints.opportunities.forms import LinkedTaskForm
from blueprints.opportunities.page import flow_context, page_context
from blueprints.tasks.context import opportunity_tasks_context
from blueprints.tasks.forms import DEFAULT_TIME, people_choices
from extensions import db
from models import Opportunity, OpportunitySubstate
from services import ServiceError, task_list
from services import linked_tasks as linked_svc
from services import substates as substate_svc
from services import tasks as task_svc
from services.access import get_opportunity_or_404
from services.close_requirements import CloseNeedsInput, missing_fields
from services.validation import InvalidData, show_on_form

FIELD_PREFIX = "field-"  # a required field's input is named "field-<reference>", e.g. "field-custom:7"


def _flow_back(opp: Opportunity, status: int = 200, message: str | None = None, tasks: bool = False, **ctx):
    """htmx: the flow panel (and, when `tasks` changed, the page's Tasks section out of band); a refused
    plain post: the page (422); else back to the page with the message."""
    if request.htmx:
        body = render_template("opportunities/_flow.html", **flow_context(opp, announce=message, **ctx))
        if tasks:
            body += render_template("tasks/_opportunity_tasks.html", oob=True, **opportunity_tasks_context(opp))
        return body, status
    if status >= 400:
        return render_template("opportunities/detail.html", **{**page_context(opp), **flow_context(opp, **ctx)}), status
    if message:
        flash(message, "success")
    return redirect(url_for("opportunities.detail", opp_id=opp.id, _anchor="flow"))


def typed_values() -> dict:
    """The required fields' values as typed in the close form: {reference: text, or the ticked options}."""
    values = {}
    for key in request.form:
        if key.startswith(FIELD_PREFIX):
            given = [v[:10000] for v in request.form.getlist(key)]
            values[key.removeprefix(FIELD_PREFIX)[:60]] = given if len(given) > 1 else given[0]
    return values


@bp.route("/opportunities/<int:opp_id>/substates/<int:substate_id>/<any(open, close):action>", methods=["POST"])
@login_required
def change_substate(opp_id: int, substate_id: int, action: str):
    """Open or close a substate (htmx swaps the flow panel); a close that needs input comes back (422)
    with the form asking for the missing fields and the note, and closes when they are sent with it."""
    opp = get_opportunity_or_404(opp_id)
    if action == "open":
        substate_svc.open_substate(opp, substate_id, current_user)
    else:
        values, note = typed_values(), request.form.get("note", "")[:10000]
        try:
            substate_svc.close_substate(opp, substate_id, current_user, values=values, note=note)
        except CloseNeedsInput as err:
            db.session.rollback()
            return _flow_back(opp, 422, close_prompt=_prompt(opp, err, values, note))
    db.session.commit()
    if request.htmx:
        # The changed substate's new status is read out to screen readers (focus.js).
        return render_template("opportunities/_flow.html", changed=substate_id, **flow_context(opp))
    return redirect(url_for("opportunities.detail", opp_id=opp.id))


def _prompt(opp: Opportunity, err: CloseNeedsInput, values: dict, note: str) -> dict:
    """What the inline close form shows: every required field still empty (refused ones with their
    message, missing ones marked), what was typed, and the note when the substate asks for one."""
    sub = err.substate
    missing = {f.ref for f in err.missing}
    fields = missing_fields(opp, sub)
    errors = {f.ref: err.errors.get(f.ref) or (_("Fill this in to close “%(name)s”.", name=sub.label)
                                               if f.ref in missing else None) for f in fields}
    # A multiple choice with one option ticked was read as text: its input wants the list back.
    typed = {f.ref: [values[f.ref]] if f.field_type == "multi_choice" and isinstance(values.get(f.ref), str)
             else values.get(f.ref) for f in fields}
    return {"substate_id": sub.id, "fields": fields, "errors": errors, "typed": typed, "note": note,
            "note_required": bool(sub.requires_note), "note_error": err.note_error, "message": err.message}


@bp.route("/opportunities/<int:opp_id>/substates/<int:substate_id>/linked-tasks", methods=["POST"])
@login_required
def add_linked_task(opp_id: int, substate_id: int):
    """"Add activity": a task linked to the substate (at most three; a fourth is refused, 422)."""
    opp = get_opportunity_or_404(opp_id)
    form = LinkedTaskForm(prefix=f"linked-{substate_id}")
    form.substate_id = substate_id
    form.responsible_id.choices = [(0, "—"), *people_choices(opp)]
    if form.validate():
        try:
            linked_svc.add_linked_task(opp, substate_id, current_user, form.title.data,
                                       responsible_id=form.responsible_id.data or None, deadline=_deadline(form))
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        except ServiceError as err:
            db.session.rollback()
            if err.status != 422:
                raise
            form.form_errors.append(err.message)
        else:
            db.session.commit()
            return _flow_back(opp, message=_("Task added."), tasks=True)
    return _flow_back(opp, 422, linked_form=form)


def _deadline(form: LinkedTaskForm):
    """The deadline day at the end of a working day in the user's time zone, as naive UTC."""
    if form.deadline_date.data is None:
        return None
    return task_list.local_to_utc(form.deadline_date.data, DEFAULT_TIME, current_user)


@bp.route("/opportunities/<int:opp_id>/linked-tasks/<int:task_id>/status", methods=["POST"])
@login_required
def linked_task_status(opp_id: int, task_id: int):
    """Mark a task under a substate completed (status=completed) or to do again (status=todo); the engine
    closes the substate when its last linked task is completed, in this same transaction."""
    opp = get_opportunity_or_404(opp_id)
    task = task_svc.get_task_or_404(task_id, current_user)
    if task.opportunity_id != opp.id:
        raise ServiceError(_("This task does not exist."), 404)
    status = request.form.get("status", "")
    if status not in ("completed", "todo"):
        raise ServiceError(_("Choose a status from the list."), 422)
    before = _status(opp, task.substate_id)
    task_svc.change_status(task, status, current_user)
    db.session.commit()
    message = _("Task completed.") if status == "completed" else _("Task to do again.")
    if before == "open" and _status(opp, task.substate_id) == "closed":  # the engine closed it (T3)
        message = " ".join((message, _("“%(name)s” is now closed.", name=task.substate.label)))
    return _flow_back(opp, message=message, tasks=True)


def _status(opp: Opportunity, substate_id: int | None) -> str | None:
    if substate_id is None:
        return None
    return db.session.execute(select(OpportunitySubstate.status).where(
        OpportunitySubstate.opportunity_id == opp.id, OpportunitySubstate.substate_id == substate_id)).scalar()
