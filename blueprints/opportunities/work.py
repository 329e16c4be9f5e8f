"""Activities and partner assignments on the opportunity page: complete, accept, reject.

Every route first scopes the opportunity to the user (get_opportunity_or_404), so a partner user gets
404 for an opportunity not assigned to its company, whatever the ids in the URL.
"""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.opportunities import bp
from extensions import db
from services import ServiceError
from services import activities as activity_svc
from services import assignment as assignment_svc
from services import substates as substate_svc
from services.access import get_opportunity_or_404


@bp.app_template_global()
def opportunity_activities(opp):
    """The activities the opportunity page lists (one source for the page and the htmx partial)."""
    return activity_svc.activities_of(opp)


@bp.app_template_global()
def opportunity_assignments(opp):
    """The assignments the current user may see on the opportunity page."""
    return assignment_svc.assignments_of(opp, current_user)


@bp.app_template_global()
def may_complete_activity(activity) -> bool:
    return not activity.is_completed and activity_svc.may_complete(current_user)


@bp.app_template_global()
def may_answer_assignment(assignment) -> bool:
    return assignment_svc.may_answer(current_user, assignment)


def _back(opp, partial: str, message: str | None = None, status: int = 200, **ctx):
    """htmx gets the panel back; a plain form post goes back to the page, with the message."""
    if request.htmx:
        return render_template(partial, opp=opp, **ctx), status
    if status == 422:  # the page again, with the message at the form
        return render_template("opportunities/detail.html", opp=opp, flow=substate_svc.flow_of(opp),
                               may_act=substate_svc.may_act, **ctx), status
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
    return _back(opp, "opportunities/_activities.html", _("Activity completed."))


@bp.route("/opportunities/<int:opp_id>/assignments/<int:assignment_id>/accept", methods=["POST"])
@login_required
def assignment_accept(opp_id: int, assignment_id: int):
    """The assigned partner company accepts the opportunity."""
    opp = get_opportunity_or_404(opp_id)
    assignment_svc.accept(opp, assignment_id, current_user)
    db.session.commit()
    return _back(opp, "opportunities/_assignments.html", _("Assignment accepted."))


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
        return _back(opp, "opportunities/_assignments.html", err.message, 422, reject_error=err.message,
                     reason=reason)
    db.session.commit()
    flash(_("Assignment rejected: the opportunity is no longer assigned to your company."), "success")
    target = url_for("opportunities.index")
    if request.htmx:  # the page would now be a 404: go to the list
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)
