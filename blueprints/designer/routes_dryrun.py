"""Dry run (D11) in the substate panel: open or close this substate for a chosen opportunity of the type, or
a sample one, and see the tree of what would happen (services.dry_run) — nothing is saved or sent."""

from flask import render_template, request
from flask_login import current_user

from blueprints.designer import bp
from blueprints.designer.views import get_substate, get_type, render_substate, wants_fragment
from extensions import db
from services import ServiceError
from services import dry_run as svc
from services.access import internal_required
from services.validation import record_id_or_none


@bp.route("/<int:type_id>/substates/<int:substate_id>/dry-run", methods=["POST"])
@internal_required
def dry_run_substate(type_id: int, substate_id: int):
    """Show what opening or closing the substate would set off; bad choices come back as a message (4xx)."""
    opp_type = get_type(type_id)
    sub = get_substate(opp_type, substate_id)
    raw, event = request.form.get("opportunity_id", "").strip(), request.form.get("event", "open")
    user = current_user._get_current_object()
    result, error, status = None, None, 200
    try:
        opp = svc.opportunity_of_type(opp_type, record_id_or_none(raw), user) if raw else None
        result = svc.simulate(opp_type, sub, event, user, opp)
    except ServiceError as err:
        db.session.rollback()
        error, status = err.message, err.status
    if wants_fragment():
        return render_template("dry_run/_tree.html", result=result, dry_error=error), status
    return render_substate(opp_type, sub, "dryrun", status, dry_result=result, dry_error=error,
                           chosen_opportunity=record_id_or_none(raw), chosen_event=event)
