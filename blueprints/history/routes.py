"""Account information → Action history (SPEC §5, seed 004): one page per tab, htmx for the table."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.history import bp
from blueprints.page_cache import cached_page
from blueprints.redirects import safe_next
from extensions import db
from services import history, locale_input
from services import notifications as notify_svc
from services import partner_home as home_svc
from services import runs as run_svc
from services.access import permission_required
from services.history import runs_query


@bp.route("/account/history")
@login_required
def index():
    """The action history opens on its first tab."""
    return redirect(url_for("history.tab", tab=history.tabs()[0].key))


@bp.route("/account/history/<tab>")
@login_required
@cached_page
def tab(tab: str):
    """A history tab: filterable, sortable table; htmx gets the table alone (and the URL is pushed)."""
    spec = history.TABS.get(tab) or abort(404)
    result = history.page(spec, current_user, request.args)
    dates = [f"{col.key}_{end}" for col in spec.columns if col.filter == "date" for end in ("from", "to")]
    ctx = {"tab": spec, "tabs": history.tabs(), "result": result, "args": request.args,
           "date_errors": locale_input.refused_dates(request.args, dates),
           "count_text": history.count_text(spec, current_user, request.args)}
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("history/_table.html", **ctx)
    return render_template("history/index.html", options=history.options(spec, current_user), **ctx)


@bp.route("/account/history/runs/<int:run_id>/retry", methods=["POST"])
@permission_required("opportunities.edit")
def retry(run_id: int):
    """Retry a failed run (internal users who may edit opportunities; partners get 404)."""
    run = runs_query.retry_target_or_404(run_id, current_user)  # the API's retry looks it up the same way
    new = run_svc.retry_run(run, current_user)
    db.session.commit()
    flash(_("A new attempt was started (#%(id)d).", id=new.id), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("history.index"))


@bp.app_context_processor
def history_helpers():
    """Labels the run lists (history and opportunity timeline) show on any page."""
    from engine.kinds import KINDS
    from models.runs import RECORD_KINDS, TRIGGERS

    return {
        "run_kind_label": lambda key: str(KINDS[key].label if key in KINDS else RECORD_KINDS.get(key, key)),
        "run_trigger_label": lambda key: str(TRIGGERS.get(key, key)),
    }


@bp.route("/partner")
@login_required
@cached_page
def partner_home():
    """A partner's landing page: new assignments to accept or reject, their opportunities, their substates."""
    if not current_user.is_partner:
        return redirect(url_for("opportunities.index"))
    return render_template("history/partner_home.html", **home_svc.partner_home(current_user))


@bp.route("/notifications")
@login_required
def notifications():
    """The user's notifications, newest first; opening the list marks them read."""
    items = notify_svc.list_and_mark_read(current_user)
    db.session.commit()
    return render_template("history/notifications.html", items=items)


@bp.route("/notifications/bell")
@login_required
def bell():
    """The header bell's unread count (htmx polls it)."""
    return render_template("history/_bell.html", unread=notify_svc.unread_count(current_user))
