"""Progress pages: one piece of long work (a bar polled by htmx) and the user's recent work."""

from flask import abort, render_template, request
from flask_babel import format_decimal
from flask_login import current_user, login_required

from blueprints.progress import bp
from extensions import db
from models.progress import LONG_JOB_STATUSES
from services import progress


def _context(job) -> dict:
    return {"job": job, "kind": progress.kind_of(job), "statuses": LONG_JOB_STATUSES, "num": format_decimal,
            "poll": progress.poll_seconds()}


@bp.route("/work")
@login_required
def index():
    """The user's recent long work (bulk retries, run-now on lists, imports), running or finished."""
    jobs = progress.recent(current_user._get_current_object())
    return render_template("progress/index.html", jobs=[_context(job) for job in jobs])


@bp.route("/work/<int:job_id>")
@login_required
def show(job_id: int):
    """One piece of work: the page, or (htmx polling) its bar alone; 404 for another user's work."""
    job = progress.visible_job(current_user._get_current_object(), job_id) or abort(404)
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("progress/_bar.html", **_context(job))
    return render_template("progress/page.html", **_context(job))


@bp.route("/work/<int:job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: int):
    """Ask the work to stop after the slice under way; what was done stays done."""
    job = progress.visible_job(current_user._get_current_object(), job_id) or abort(404)
    progress.cancel(job)
    db.session.commit()
    if request.htmx:
        return render_template("progress/_bar.html", **_context(job))
    return render_template("progress/page.html", **_context(job))
