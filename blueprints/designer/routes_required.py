"""The substate panel's Required fields tab (D4): add or remove a field a person must fill before closing
the substate, and switch "Requires a note when closed". Changes need "Modify opportunity states" (D9); a
refused change comes back (422) with its message and nothing saved."""

from flask import request
from flask_babel import gettext as _

from blueprints.designer import bp
from blueprints.designer.views import EDIT_PERMISSION, flow_changed, get_substate, get_type, render_substate
from extensions import db
from services import substate_requirements as svc
from services.access import permission_required
from services.validation import InvalidData


def _back(opp_type, sub, announce: str | None):
    """The tab again; the board reloads too (its card shows whether the substate asks for input)."""
    return flow_changed(render_substate(opp_type, sub, "required", announce=announce))


def _refused(opp_type, sub, err: InvalidData):
    db.session.rollback()
    return render_substate(opp_type, sub, "required", 422, required_errors=err.errors,
                           chosen=request.form.get("field", ""))


@bp.route("/<int:type_id>/substates/<int:substate_id>/required-fields", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def add_required_field(type_id: int, substate_id: int):
    """Require a field (field=<reference>) before the substate closes."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    try:
        svc.add_requirement(sub, request.form.get("field", "")[:60])
        db.session.commit()
    except InvalidData as err:
        return _refused(opp_type, sub, err)
    return _back(opp_type, sub, _("Saved"))


@bp.route("/<int:type_id>/substates/<int:substate_id>/required-fields/remove", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def remove_required_field(type_id: int, substate_id: int):
    """Stop requiring a field (field=<reference>)."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    removed = svc.remove_requirement(sub, request.form.get("field", "")[:60])
    db.session.commit()
    return _back(opp_type, sub, _("Deleted") if removed else None)


@bp.route("/<int:type_id>/substates/<int:substate_id>/requires-note", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def set_requires_note(type_id: int, substate_id: int):
    """Ask for a note when the substate is closed (requires_note=1, the switch on) or not (nothing sent)."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    try:
        svc.set_requires_note(sub, request.form.get("requires_note") == "1")
        db.session.commit()
    except InvalidData as err:
        return _refused(opp_type, sub, err)
    return _back(opp_type, sub, _("Enabled") if sub.requires_note else _("Disabled"))
