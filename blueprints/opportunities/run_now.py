"""Run now (E11) and "why did it (not) run?": the opportunity page's automatic-actions panel, and running an
action on every opportunity of the filtered list as long work with a progress bar."""

from flask import redirect, render_template, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.opportunities import bp
from extensions import db
from services import ServiceError, why_runs
from services import run_now as svc
from services.access import get_opportunity_or_404, internal_required, permission_required

# Who may run actions by hand: managers and admins (those who may change the flow's states).
RUN_PERMISSION = "opportunity_states.modify"


def _panel(opp, announce: str | None = None, error: str | None = None, status: int = 200):
    return render_template("opportunities/_actions_panel.html", opp=opp, subs=why_runs.explain(opp),
                           may_run=current_user.can(RUN_PERMISSION), announce=announce, error=error), status


@bp.route("/opportunities/<int:opp_id>/actions")
@internal_required
def actions_panel(opp_id: int):
    """The automatic-actions panel alone (htmx): each action's runs on this opportunity, or why it made none."""
    opp = get_opportunity_or_404(opp_id)
    if not request.htmx:  # a fragment: opened as a page, it is the opportunity's page that shows it
        return redirect(url_for("opportunities.detail", opp_id=opp.id))
    return _panel(opp)


@bp.route("/opportunities/<int:opp_id>/actions/run-now", methods=["POST"])
@permission_required(RUN_PERMISSION)
def run_now_one(opp_id: int):
    """Run an action (or a substate's on-open actions) on this opportunity now, through the engine."""
    opp = get_opportunity_or_404(opp_id)
    target = svc.target_of(request.form.get("target"))
    if target is None:
        return _panel(opp, error=_("Choose an enabled action of this opportunity's flow."), status=422)
    try:
        runs = svc.run_on_one(opp, target, current_user._get_current_object())
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        return _panel(opp, error=err.message, status=err.status)
    return _panel(opp, announce=ngettext("%(num)d run started.", "%(num)d runs started.", len(runs)))


def _list_form(target_key: str | None = None, error: str | None = None, status: int = 200):
    return render_template("opportunities/run_now.html", groups=svc.choices(svc._id(request.args.get("type"))),
                           target_key=target_key, error=error, args=request.args, confirm=None), status


@bp.route("/opportunities/run-now")
@permission_required(RUN_PERMISSION)
def run_now_list_form():
    """Run now on the filtered list: choose the action or the substate whose on-open actions run."""
    return _list_form()


@bp.route("/opportunities/run-now", methods=["POST"])
@permission_required(RUN_PERMISSION)
def run_now_list():
    """First post: the confirmation naming how many; confirmed: the work starts and its progress page opens."""
    target = svc.target_of(request.form.get("target"))
    if target is None:
        return _list_form(error=_("Choose an action to run."), status=422)
    user = current_user._get_current_object()
    try:
        if request.form.get("confirm") != "1":
            total = svc.count(request.args, target, user)
            text = ngettext("This will run %(what)s on %(count)s opportunity.",
                            "This will run %(what)s on %(count)s opportunities.", total,
                            what=target.label, count=format_decimal(total))
            return render_template("opportunities/run_now.html", groups=svc.choices(), target_key=target.key,
                                   args=request.args, confirm=text, total=total, error=None)
        job = svc.start_on_list(request.args, target, user)
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        return _list_form(target.key, err.message, err.status)
    return redirect(url_for("progress.show", job_id=job.id))
