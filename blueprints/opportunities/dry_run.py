"""Dry run (D11) from the opportunity page: choose a substate and whether it opens or closes, and see the
tree of what would happen to this opportunity (services.dry_run) — nothing is saved or sent."""

from flask import render_template, request, url_for
from flask_login import current_user

from blueprints.opportunities import bp
from extensions import db
from services import ServiceError
from services import dry_run as svc
from services.access import get_opportunity_or_404, internal_required
from services.validation import record_id_or_none


def _page(opp, status: int = 200, **ctx):
    return render_template("dry_run/page.html", opp=opp, substate_choices=svc.substate_choices(opp.type),
                           dry_url=url_for("opportunities.dry_run", opp_id=opp.id), dry_level=2, **ctx), status


@bp.route("/opportunities/<int:opp_id>/dry-run")
@internal_required
def dry_run_page(opp_id: int):
    """The dry-run form for this opportunity (internal users only)."""
    return _page(get_opportunity_or_404(opp_id), chosen_substate=record_id_or_none(request.args.get("substate")))


@bp.route("/opportunities/<int:opp_id>/dry-run", methods=["POST"])
@internal_required
def dry_run(opp_id: int):
    """Show what opening or closing the chosen substate would set off; bad choices come back as a message."""
    opp = get_opportunity_or_404(opp_id)
    substate_id, event = record_id_or_none(request.form.get("substate_id")), request.form.get("event", "open")
    result, error, status = None, None, 200
    try:
        result = svc.simulate(opp.type, svc.substate_of(opp, substate_id), event,
                              current_user._get_current_object(), opp)
    except ServiceError as err:
        db.session.rollback()
        error, status = err.message, err.status
    if request.htmx:
        return render_template("dry_run/_tree.html", result=result, dry_error=error, dry_level=2), status
    opp = get_opportunity_or_404(opp_id)  # the rollback expired it
    return _page(opp, status, result=result, dry_error=error, chosen_substate=substate_id, chosen_event=event)
