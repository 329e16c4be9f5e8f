"""Failure inbox pages: the groups with their filters, the bulk retry of a filtered set, Resume."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.inbox import bp
from blueprints.redirects import safe_next
from extensions import db
from models import Action
from models.progress import LONG_JOB_STATUSES
from services import ServiceError, auto_pause, bulk_retry, failure_inbox, progress
from services.access import permission_required

RETRY_PERMISSION = "opportunities.edit"  # as the history's Retry button
RESUME_PERMISSION = auto_pause.MANAGE_PERMISSION
SETTING_PERMISSION = "settings.manage"


def _page(filters, errors: list[str], status: int = 200, limit_error: str = "", limit_value: str | None = None):
    user = current_user._get_current_object()
    groups = failure_inbox.groups(user, filters) if not errors else []
    jobs = [{"job": job, "kind": progress.kind_of(job), "statuses": LONG_JOB_STATUSES, "num": format_decimal,
             "poll": progress.poll_seconds()} for job in progress.active(user, bulk_retry.KIND)]
    return render_template("inbox/index.html", groups=groups, errors=errors, filters=filters,
                           args=request.values, total=sum(g["count"] for g in groups), jobs=jobs,
                           history_tab=failure_inbox.history_tab, num=format_decimal,
                           can_retry=user.can(RETRY_PERMISSION) and not user.is_partner,
                           can_set=user.can(SETTING_PERMISSION) and not user.is_partner,
                           limit=auto_pause.limit(), limit_error=limit_error, limit_value=limit_value,
                           **failure_inbox.choices(user)), status


@bp.route("/account/failures")
@login_required
def index():
    """Failed and needs-review runs not yet retried, grouped by action and error; bad filters answer 422."""
    filters, errors = failure_inbox.parse(request.args)
    return _page(filters, errors, 422 if errors else 200)


@bp.route("/account/failures/retry", methods=["POST"])
@permission_required(RETRY_PERMISSION)
def retry():
    """Retry every run the filters name, each at most once, in the background; then its progress bar."""
    filters, errors = failure_inbox.parse(request.form)
    if errors:
        return _page(filters, errors, 422)
    try:
        job = bulk_retry.start(current_user._get_current_object(), filters)
    except ServiceError as err:
        return _page(filters, [err.message], err.status)
    db.session.commit()
    return redirect(url_for("progress.show", job_id=job.id))


@bp.route("/account/failures/auto-pause", methods=["POST"])
@permission_required(SETTING_PERMISSION)
def auto_pause_setting():
    """The admin's N: an action pauses itself after this many failures in a row (0: never)."""
    try:
        auto_pause.set_limit(request.form.get("limit", ""))
    except ServiceError as err:
        return _page(failure_inbox.Filters(), [], err.status, err.message, request.form.get("limit", ""))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("inbox.index"))


@bp.route("/account/failures/actions/<int:action_id>/resume", methods=["POST"])
@permission_required(RESUME_PERMISSION)
def resume(action_id: int):
    """Let a paused action create runs again (who may modify the flow); back where the button was."""
    action = db.session.get(Action, action_id) or abort(404)
    if auto_pause.resume(action):
        db.session.commit()
        flash(_("The automatic action runs again."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("inbox.index"))


@bp.app_context_processor
def inbox_helpers():
    """The designer's banners ask which of a type's (or a substate's) actions paused themselves."""
    return {"paused_actions": auto_pause.paused_actions}
