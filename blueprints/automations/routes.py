"""User menu → Process automations (seed 003), administrators only: the panel of every automation with its
switch and "N of M active", the two-step configurator (name and field, then the sales process and its step),
edit, delete and the limit M. Refused input comes back on the same form with 422, nothing saved."""

from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.automations import bp
from extensions import db
from models import OpportunityType, ProcessAutomation
from services import ServiceError
from services import process_automations as svc
from services.access import internal_required
from services.validation import InvalidData, record_id_or_none


def admin_required(view):
    """Administrators only (seed 003): other internal users 403, partners the 404 of any page not theirs."""

    @wraps(view)
    @internal_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _automation(automation_id: int) -> ProcessAutomation:
    return db.session.get(ProcessAutomation, automation_id) or abort(404)


def _counts() -> dict:
    return {"active": svc.active_count(), "limit": svc.active_limit()}


def _panel(status: int = 200, limit_error: str | None = None, limit_value=None, switch_error=None):
    rows = [(a, svc.warnings(a), svc.field_label(a)) for a in svc.all_automations()]
    counts = _counts()
    return render_template("automations/index.html", rows=rows, counts=counts, limit_error=limit_error,
                           limit_value=counts["limit"] if limit_value is None else limit_value,
                           switch_error=switch_error), status


@bp.route("/process-automations")
@admin_required
def index():
    """The panel: every automation, active and inactive, with "Create new" and "N of M active"."""
    return _panel()


@bp.route("/process-automations/limit", methods=["POST"])
@admin_required
def set_limit():
    """Store M, how many automations may be active at once."""
    raw = request.form.get("limit", "")
    try:
        limit = svc.set_active_limit(raw)
    except InvalidData as err:
        db.session.rollback()
        return _panel(422, limit_error=err.errors["limit"], limit_value=raw[:20])
    db.session.commit()
    flash(_("At most %(num)d automations may be active now.", num=limit), "success")
    return redirect(url_for("automations.index"))


# --- the configurator --------------------------------------------------------------------------------------

def _posted() -> dict:
    """The configurator's fields as posted; ids that cannot be ids become None (refused by the service)."""
    form = request.form
    return {"name": form.get("name", "")[:1000], "field": form.get("field", "")[:100],
            "type_id": record_id_or_none(form.get("type_id")),
            "substate_id": record_id_or_none(form.get("substate_id"))}


def _from_saved(automation: ProcessAutomation) -> dict:
    return {"name": automation.name, "field": automation.field_ref or "", "type_id": automation.type_id,
            "substate_id": automation.substate_id}


def _form(automation: ProcessAutomation | None, data: dict, step: int, errors=None, status: int = 200):
    """One step of the configurator; step 2 shows the chosen field and asks for the sales process and step."""
    except_id = automation.id if automation else None
    types = [t for t in db.session.execute(db.select(OpportunityType).where(OpportunityType.archived.is_(False))
                                           .order_by(OpportunityType.id)).scalars()]
    type_id = data.get("type_id") if any(t.id == data.get("type_id") for t in types) else None
    if step == 2 and type_id is None and len(types) == 1:
        type_id = types[0].id
    fields = svc.field_options(except_id)
    chosen = next((label for ref, label, _ok in fields if ref == data.get("field")), None)
    return render_template(
        "automations/form.html", automation=automation, data=data, step=step, errors=errors or {},
        fields=fields, chosen_field=chosen, types=types, type_id=type_id,
        substates=svc.substate_options(type_id, except_id) if type_id else [], counts=_counts()), status


def _configure(automation: ProcessAutomation | None):
    """A POST of the configurator: go="field" back to step 1, "effect" to step 2 (name and field checked),
    "save" (the default once a sales process is posted) saves and opens the automation's page."""
    data = _posted()
    go = request.form.get("go") or ("save" if "type_id" in request.form else "effect")
    except_id = automation.id if automation else None
    if go == "field":
        return _form(automation, data, 1)
    try:
        svc.check_first_step(data, except_id)
    except InvalidData as err:
        return _form(automation, data, 1, err.errors, 422)
    if go != "save":
        return _form(automation, data, 2)
    try:
        saved = svc.save(automation, data, current_user)
    except InvalidData as err:
        db.session.rollback()
        step = 1 if set(err.errors) <= {"name", "field"} else 2
        return _form(automation, data, step, err.errors, 422)
    db.session.commit()
    flash(_("Process automation “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("automations.detail", automation_id=saved.id))


@bp.route("/process-automations/new", methods=["GET", "POST"])
@admin_required
def new():
    """Create new: step 1 the name and the field, step 2 the sales process and its step, then Save."""
    if request.method == "GET":
        return _form(None, {"name": "", "field": ""}, 1)
    return _configure(None)


@bp.route("/process-automations/<int:automation_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(automation_id: int):
    """Edit an automation the same way it was made."""
    automation = _automation(automation_id)
    if request.method == "GET":
        return _form(automation, _from_saved(automation), 1)
    return _configure(automation)


@bp.route("/process-automations/substates")
@bp.route("/process-automations/<int:automation_id>/substates")
@admin_required
def substates(automation_id: int | None = None):
    """The step picker for the chosen sales process (htmx swaps it in when the process changes)."""
    automation = _automation(automation_id) if automation_id is not None else None
    if not request.htmx:
        return redirect(url_for("automations.edit", automation_id=automation_id) if automation
                        else url_for("automations.new"))
    type_id = record_id_or_none(request.args.get("type_id"))
    opp_type = db.session.get(OpportunityType, type_id) if type_id else None
    type_id = opp_type.id if opp_type is not None and not opp_type.archived else None
    groups = svc.substate_options(type_id, automation.id if automation else None) if type_id else []
    return render_template("automations/_substate_field.html", substates=groups, type_id=type_id,
                           selected=None, error=None)


# --- the automation's page, its switch, delete ---------------------------------------------------------------

@bp.route("/process-automations/<int:automation_id>")
@admin_required
def detail(automation_id: int):
    """An automation's page: what it links, its warnings, the switch to activate it, Edit and Delete."""
    automation = _automation(automation_id)
    return _detail(automation)


def _detail(automation: ProcessAutomation, status: int = 200, switch_error: str | None = None):
    return render_template("automations/detail.html", automation=automation, warnings=svc.warnings(automation),
                           field_label=svc.field_label(automation), counts=_counts(),
                           switch_error=switch_error), status


@bp.route("/process-automations/<int:automation_id>/active", methods=["POST"])
@admin_required
def set_active(automation_id: int):
    """Switch an automation on (active=1) or off; past the limit it is refused (422) and stays off. htmx gets
    the switch back (and the count, out of band); a plain form the page it came from."""
    automation = _automation(automation_id)
    back = "page" if request.form.get("back") == "page" else "panel"
    error = None
    try:
        svc.set_active(automation, request.form.get("active") == "1")
    except ServiceError as err:
        db.session.rollback()
        error = err.message
    else:
        db.session.commit()
    if request.htmx:
        return render_template("automations/_switch.html", automation=automation, back=back, error=error,
                               counts=_counts(), oob=True), 422 if error else 200
    if error:
        return _detail(automation, 422, error) if back == "page" else _panel(422, switch_error=(automation.id, error))
    flash(_("“%(name)s” is active.", name=automation.name) if automation.active
          else _("“%(name)s” is inactive.", name=automation.name), "success")
    if back == "page":
        return redirect(url_for("automations.detail", automation_id=automation.id))
    return redirect(url_for("automations.index"))


@bp.route("/process-automations/<int:automation_id>/delete", methods=["POST"])
@admin_required
def delete(automation_id: int):
    """Delete an automation (the page asks for confirmation first); its runs stay in the history."""
    automation = _automation(automation_id)
    name = automation.name
    svc.delete(automation)
    db.session.commit()
    flash(_("Process automation “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("automations.index"))


@bp.app_context_processor
def automation_run_helpers():
    """How a process automation's or linked tasks' run reads on the opportunity's timeline."""
    from services.history import process_automations as tab

    def summary(run) -> str:
        parts = [f"“{run.config['name']}”"] if run.kind == tab.AUTOMATION and (run.config or {}).get("name") else []
        parts += [tab.direction_label(run), tab.field_cell(run)]
        return " · ".join(p for p in parts if p)

    return {"automation_run_summary": summary}
