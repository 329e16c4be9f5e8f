"""Triggers in the substate panel (SPEC T1): add (choose the type, its form swapped in by htmx), edit,
enable/disable and delete; a refused form comes back (422) with its messages and nothing saved."""

from flask import render_template, request
from flask_babel import gettext as _

from blueprints.designer import bp
from blueprints.designer.forms import TriggerForm
from blueprints.designer.views import (
    EDIT_PERMISSION,
    flow_changed,
    get_substate,
    get_trigger,
    get_type,
    render_panel,
    render_substate,
)
from engine.trigger_types import all_trigger_types, get_trigger_type
from extensions import db
from models import OpportunityType, Substate, Trigger
from services import triggers as svc
from services.access import permission_required
from services.validation import InvalidData


def _render_form(opp_type: OpportunityType, sub: Substate, form: TriggerForm, cfg, trigger=None, status=200):
    """The trigger form in the panel: the type, then the type's own fields in their sections."""
    return render_panel(opp_type, "designer/_panel_trigger_form.html", status, selected=sub.id, substate=sub,
                        form=form, trigger_type=get_trigger_type(form.kind.data), cfg=cfg, trigger=trigger)


def _save(opp_type: OpportunityType, sub: Substate, trigger: Trigger | None = None):
    """Validate and save; on refusal the same form comes back (422) with every message in place."""
    form = TriggerForm()
    trigger_type = get_trigger_type(form.kind.data)
    cfg = trigger_type.build_form(sub, formdata=request.form, saved=trigger) if trigger_type else None
    data = svc.TriggerData(kind=form.kind.data or "", config=cfg.data if cfg else {})
    try:
        saved = svc.update_trigger(trigger, data) if trigger else svc.create_trigger(sub, data)
        db.session.commit()
    except InvalidData as err:
        db.session.rollback()
        for name, message in err.errors.items():
            target = cfg if name.startswith("config-") and cfg is not None else form
            field = target._fields.get(name.removeprefix("config-"))
            if field is None:
                form.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]
        return _render_form(opp_type, sub, form, cfg, trigger, 422)
    return flow_changed(render_substate(opp_type, sub, "triggers", saved_trigger=saved.id, announce=_("Saved")))


@bp.route("/<int:type_id>/substates/<int:substate_id>/triggers/new")
@permission_required(EDIT_PERMISSION)
def new_trigger(type_id: int, substate_id: int):
    """Panel: "Add trigger" — the type may come chosen (?kind=task_status); a lone type is chosen already."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    form = TriggerForm(formdata=None)
    types = all_trigger_types()
    trigger_type = get_trigger_type(request.args.get("kind")) or (types[0] if len(types) == 1 else None)
    form.kind.data = trigger_type.key if trigger_type else ""
    return _render_form(opp_type, sub, form, trigger_type.build_form(sub) if trigger_type else None)


@bp.route("/<int:type_id>/substates/<int:substate_id>/triggers/new", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def create_trigger(type_id: int, substate_id: int):
    """Add a trigger to the substate, last in its list."""
    opp_type = get_type(type_id)
    return _save(opp_type, get_substate(opp_type, substate_id))


@bp.route("/<int:type_id>/substates/<int:substate_id>/triggers/type-fields")
@permission_required(EDIT_PERMISSION)
def trigger_fields(type_id: int, substate_id: int):
    """The chosen type's own fields, swapped into the form when the type changes."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    trigger_type = get_trigger_type(request.args.get("kind"))
    return render_template("designer/_trigger_fields.html", trigger_type=trigger_type,
                           cfg=trigger_type.build_form(sub) if trigger_type else None)


@bp.route("/<int:type_id>/triggers/<int:trigger_id>/edit")
@permission_required(EDIT_PERMISSION)
def edit_trigger(type_id: int, trigger_id: int):
    """Panel: the form of a saved trigger."""
    opp_type = get_type(type_id)
    trigger = get_trigger(opp_type, trigger_id)
    form = TriggerForm(formdata=None)
    form.kind.data = trigger.kind
    trigger_type = get_trigger_type(trigger.kind)
    data = {**(trigger.config or {}), "name": trigger.name, "as_user_id": trigger.as_user_id,
            "allow_back": trigger.allow_back}
    cfg = trigger_type.build_form(trigger.substate, data=data, saved=trigger) if trigger_type else None
    return _render_form(opp_type, trigger.substate, form, cfg, trigger)


@bp.route("/<int:type_id>/triggers/<int:trigger_id>/edit", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def save_trigger(type_id: int, trigger_id: int):
    """Save the changes to a trigger."""
    opp_type = get_type(type_id)
    trigger = get_trigger(opp_type, trigger_id)
    return _save(opp_type, trigger.substate, trigger)


@bp.route("/<int:type_id>/triggers/<int:trigger_id>/toggle", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def toggle_trigger(type_id: int, trigger_id: int):
    """Enable (enabled=1, the switch on) or disable (the switch off: nothing sent) a trigger."""
    opp_type = get_type(type_id)
    trigger = svc.set_enabled(get_trigger(opp_type, trigger_id), request.form.get("enabled") == "1")
    db.session.commit()
    announce = _("Enabled") if trigger.enabled else _("Disabled")
    return flow_changed(render_substate(opp_type, trigger.substate, "triggers", announce=announce))


@bp.route("/<int:type_id>/triggers/<int:trigger_id>/delete", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def delete_trigger(type_id: int, trigger_id: int):
    """Delete a trigger (the page asks for confirmation first); its runs stay in the history."""
    opp_type = get_type(type_id)
    trigger = get_trigger(opp_type, trigger_id)
    sub = trigger.substate
    svc.delete_trigger(trigger)
    db.session.commit()
    return flow_changed(render_substate(opp_type, sub, "triggers", announce=_("Deleted")))
