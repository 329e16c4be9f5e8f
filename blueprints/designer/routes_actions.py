"""Automatic actions in the substate panel: add and edit step by step (the kind's fields swapped in by
htmx), enable/disable, reorder, duplicate, copy to another type's substate, delete (D5–D8)."""

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict

from blueprints.designer import bp
from blueprints.designer.forms import ActionForm, CopyForm
from blueprints.designer.views import (
    EDIT_PERMISSION,
    flow_changed,
    get_action,
    get_substate,
    get_type,
    render_panel,
    render_substate,
)
from engine.kinds import get_kind
from extensions import db
from models import Action, Channel, OpportunityType, Substate
from models.flow import ACTION_GROUPS
from services import ServiceError, waiting_runs
from services import actions as svc
from services import flow as flow_svc
from services.access import permission_required
from services.validation import record_id


def _channels() -> list[Channel]:
    return list(db.session.execute(select(Channel).order_by(Channel.name)).scalars())


def _render_form(opp_type: OpportunityType, sub: Substate, form: ActionForm, cfg, action=None, status=200,
                 missing=None):
    """The step-by-step form in the panel, with the chosen kind's own fields and prerequisite notes."""
    kind = get_kind(form.kind.data)
    if kind is not None and missing is None:
        missing = kind.prerequisites(sub)
    return render_panel(opp_type, "designer/_panel_action_form.html", status, selected=sub.id, substate=sub,
                        form=form, kind=kind, cfg=cfg, missing=missing or [], action=action)


def _ask_waiting(opp_type: OpportunityType, action: Action, runs: list, choices, doing: str):
    """D13: the panel listing the action's waiting runs and asking what to do with them; the choice posts the
    same request again (its fields kept hidden) with `waiting` set."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "waiting")]
    return render_panel(opp_type, "designer/_panel_waiting.html", 200, selected=action.substate_id,
                        substate=action.substate, action=action, runs=runs, doing=doing, fields=fields,
                        choices=[(key, waiting_runs.CHOICES[key]) for key in choices], post_url=request.path)


def _save(opp_type: OpportunityType, sub: Substate, action: Action | None = None):
    """Validate and save; on refusal the same form comes back (422) with every message in place."""
    form = ActionForm(channels=_channels())
    kind = get_kind(form.kind.data)
    # A kind may take a file in its form (M5's attachment): the form posts multipart/form-data.
    formdata = CombinedMultiDict((request.files, request.form)) if request.files else request.form
    cfg = kind.build_form(sub, formdata=formdata) if kind else None
    data = svc.ActionData(group=form.group.data or "", kind=form.kind.data or "",
                          config=cfg.data if cfg else {}, delay_amount=form.delay_amount.data,
                          delay_unit=form.delay_unit.data, respect_working_hours=form.respect_working_hours.data,
                          channel_ids=form.channel_ids())
    choice, waiting = request.form.get("waiting"), waiting_runs.waiting(action)
    try:
        saved = svc.save_action(sub, data, action)
        if waiting and choice not in waiting_runs.CHOICES:
            db.session.rollback()  # valid, but its waiting runs need a decision first: nothing saved yet
            return _ask_waiting(opp_type, action, waiting_runs.waiting(action), waiting_runs.CHOICES, "edit")
        waiting_runs.resolve(saved, [r.id for r in waiting], choice)
        db.session.commit()
    except svc.ActionRefused as err:
        db.session.rollback()
        for name, message in err.errors.items():
            target = cfg if name.startswith("config-") and cfg is not None else form
            field = target._fields.get(name.removeprefix("config-"))
            if field is None:
                form.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]
        return _render_form(opp_type, sub, form, cfg, action, 422, missing=err.missing)
    # The saved row takes the focus and "Saved" is read out (focus.js).
    return flow_changed(render_substate(opp_type, sub, "actions", saved_action=saved.id, announce=_("Saved")))


@bp.route("/<int:type_id>/substates/<int:substate_id>/actions/new")
@permission_required(EDIT_PERMISSION)
def new_action(type_id: int, substate_id: int):
    """Panel: "Add action" — the group may come preselected (?group=scheduled)."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    form = ActionForm(formdata=None, channels=_channels())
    if request.args.get("group") in ACTION_GROUPS:
        form.group.data = request.args["group"]
    kind = get_kind(request.args.get("kind"))
    form.kind.data = kind.key if kind else ""
    return _render_form(opp_type, sub, form, kind.build_form(sub) if kind else None)


@bp.route("/<int:type_id>/substates/<int:substate_id>/actions/new", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def create_action(type_id: int, substate_id: int):
    """Add an action to the substate, last in its group."""
    opp_type = get_type(type_id)
    return _save(opp_type, get_substate(opp_type, substate_id))


@bp.route("/<int:type_id>/substates/<int:substate_id>/actions/kind-fields")
@permission_required(EDIT_PERMISSION)
def kind_fields(type_id: int, substate_id: int):
    """The chosen kind's own fields and prerequisite notes, swapped into the form when the kind changes."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    kind = get_kind(request.args.get("kind"))
    return render_template("designer/_kind_fields.html", kind=kind, cfg=kind.build_form(sub) if kind else None,
                           missing=kind.prerequisites(sub) if kind else [])


@bp.route("/<int:type_id>/actions/<int:action_id>/edit")
@permission_required(EDIT_PERMISSION)
def edit_action(type_id: int, action_id: int):
    """Panel: the form of a saved action."""
    opp_type = get_type(type_id)
    action = get_action(opp_type, action_id)
    form = ActionForm(formdata=None, channels=_channels())
    form.fill_action(action)
    kind = get_kind(action.kind)
    cfg = kind.build_form(action.substate, data=action.config) if kind else None
    return _render_form(opp_type, action.substate, form, cfg, action)


@bp.route("/<int:type_id>/actions/<int:action_id>/edit", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def save_action(type_id: int, action_id: int):
    """Save the changes to an action; with waiting runs, the panel asks what to do with them first (D13)."""
    opp_type = get_type(type_id)
    action = get_action(opp_type, action_id)
    return _save(opp_type, action.substate, action)


@bp.route("/<int:type_id>/actions/<int:action_id>/toggle", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def toggle_action(type_id: int, action_id: int):
    """Enable (enabled=1) or disable (enabled=0) an action; disabling one with waiting runs asks first (D13)."""
    opp_type = get_type(type_id)
    action, enable = get_action(opp_type, action_id), request.form.get("enabled") == "1"
    waiting, choice = ([] if enable else waiting_runs.waiting(action)), request.form.get("waiting")
    if waiting and choice not in waiting_runs.CHOICES_WITHOUT_APPLY:
        return _ask_waiting(opp_type, action, waiting, waiting_runs.CHOICES_WITHOUT_APPLY, "disable")
    waiting_runs.resolve(action, [r.id for r in waiting], choice)
    svc.set_enabled(action, enable)
    db.session.commit()
    announce = _("Enabled") if action.enabled else _("Disabled")
    return flow_changed(render_substate(opp_type, action.substate, "actions", announce=announce))


@bp.route("/<int:type_id>/actions/<int:action_id>/delete", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def delete_action(type_id: int, action_id: int):
    """Delete an action (the page asks for confirmation first, and what to do with its waiting runs)."""
    opp_type = get_type(type_id)
    action = get_action(opp_type, action_id)
    sub = action.substate
    waiting, choice = waiting_runs.waiting(action), request.form.get("waiting")
    if waiting and choice not in waiting_runs.CHOICES_WITHOUT_APPLY:
        return _ask_waiting(opp_type, action, waiting, waiting_runs.CHOICES_WITHOUT_APPLY, "delete")
    waiting_runs.resolve(action, [r.id for r in waiting], choice)
    svc.delete_action(action)
    db.session.commit()
    return flow_changed(render_substate(opp_type, sub, "actions", announce=_("Deleted")))


@bp.route("/<int:type_id>/actions/<int:action_id>/duplicate", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def duplicate_action(type_id: int, action_id: int):
    """Duplicate an action right after itself."""
    opp_type = get_type(type_id)
    action = get_action(opp_type, action_id)
    svc.duplicate_action(action)
    db.session.commit()
    return flow_changed(render_substate(opp_type, action.substate, "actions", announce=_("Duplicated")))


@bp.route("/<int:type_id>/substates/<int:substate_id>/actions/<group>/order", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def order_actions(type_id: int, substate_id: int, group: str):
    """Save a group's order as dragged (ids in their new order)."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    try:
        svc.reorder_group(sub, group, request.form.getlist("ids", type=record_id))
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        return render_substate(opp_type, sub, "actions", 422, notice=err.message)
    return render_substate(opp_type, sub, "actions", announce=_("Moved"))


def _copy_panel(opp_type, action, form, status=200):
    # Every other live substate, grouped by type, the action's own type last: "Copy to…" is mostly for other types (D8).
    form.target.set_records(None, groups=flow_svc.substate_groups(
        leave_out=action.substate_id, last_type_id=action.substate.state.type_id, archived=False))
    return render_panel(opp_type, "designer/_panel_copy.html", status, selected=action.substate_id,
                        substate=action.substate, action=action, form=form)


@bp.route("/<int:type_id>/actions/<int:action_id>/copy")
@permission_required(EDIT_PERMISSION)
def copy_action_form(type_id: int, action_id: int):
    """Panel: "Copy to…" — choose a substate of another type."""
    opp_type = get_type(type_id)
    return _copy_panel(opp_type, get_action(opp_type, action_id), CopyForm(formdata=None))


@bp.route("/<int:type_id>/actions/<int:action_id>/copy", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def copy_action(type_id: int, action_id: int):
    """Replicate the action on the chosen substate; the panel then shows the substate it came from."""
    opp_type = get_type(type_id)
    action = get_action(opp_type, action_id)
    form = CopyForm()
    target = db.session.get(Substate, form.target.data) if form.target.data else None
    try:
        if target is None:
            raise ServiceError(_("Choose the substate to copy the action to."), 422)
        copy = svc.copy_action(action, target)
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        form.target.errors = [err.message]
        return _copy_panel(opp_type, get_action(opp_type, action_id), form, 422)
    return flow_changed(render_substate(opp_type, action.substate, "actions", copied_to=copy.substate))
