"""Activities and partner assignments on the opportunity page: complete, accept, reject.

Every route first scopes the opportunity to the user (get_opportunity_or_404), so a partner user gets
404 for an opportunity not assigned to its company, whatever the ids in the URL.
"""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.opportunities import bp
from blueprints.opportunities.page import activities_context, assignments_context, page_context
from extensions import db
from services import ServiceError
from services import activities as activity_svc
from services import assignment as assignment_svc
from services.access import get_opportunity_or_404

PANELS = {"activities": activities_context, "assignments": assignments_context}


def _back(opp, panel: str, message: str | None = None, status: int = 200, **ctx):
    """htmx gets the panel back; a plain form post goes back to the page, with the message."""
    if request.htmx:
        # What was done is read out to screen readers once the panel is swapped in (focus.js).
        announce = message if status < 400 else None
        return render_template(f"opportunities/_{panel}.html", announce=announce, **PANELS[panel](opp), **ctx), status
    if status == 422:  # the page again, with the message at the form
        return render_template("opportunities/detail.html", **page_context(opp), **ctx), status
    if message:
        flash(message, "success" if status < 400 else "error")
    return redirect(url_for("opportunities.detail", opp_id=opp.id))


@bp.route("/opportunities/<int:opp_id>/activities/<int:activity_id>/complete", methods=["POST"])
@login_required
def activity_complete(opp_id: int, activity_id: int):
    """Mark an activity completed (htmx swaps the activities panel)."""
    opp = get_opportunity_or_404(opp_id)
    activity_svc.complete(opp, activity_id, current_user)
    db.session.commit()
    return _back(opp, "activities", _("Activity completed."))


@bp.route("/opportunities/<int:opp_id>/assignments/<int:assignment_id>/accept", methods=["POST"])
@login_required
def assignment_accept(opp_id: int, assignment_id: int):
    """The assigned partner company accepts the opportunity."""
    opp = get_opportunity_or_404(opp_id)
    assignment_svc.accept(opp, assignment_id, current_user)
    db.session.commit()
    return _back(opp, "assignments", _("Assignment accepted."))


@bp.route("/opportunities/<int:opp_id>/assignments/<int:assignment_id>/reject", methods=["POST"])
@login_required
def assignment_reject(opp_id: int, assignment_id: int):
    """The assigned partner company rejects the opportunity with a reason, and stops seeing it."""
    opp = get_opportunity_or_404(opp_id)
    reason = request.form.get("reason", "")
    try:
        assignment_svc.reject(opp, assignment_id, current_user, reason)
    except ServiceError as err:
        db.session.rollback()
        if err.status != 422:
            raise
        return _back(opp, "assignments", err.message, 422, reject_error=err.message,
                     reason=reason)
    db.session.commit()
    flash(_("Assignment rejected: the opportunity is no longer assigned to your company."), "success")
    target = url_for("opportunities.index")
    if request.htmx:  # the page would now be a 404: go to the list
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)
