"""Flow dashboard pages: a type chooser and one page per type; htmx's period switch gets the body alone."""

from datetime import timedelta

from flask import abort, render_template, request, url_for
from flask_babel import format_decimal, format_timedelta
from flask_login import current_user, login_required

from blueprints.dashboard import bp
from models.runs import REASONS, RUN_STATUSES
from services import charts, history
from services import dashboard as svc


@bp.route("/dashboard")
@login_required
def index():
    """The types whose dashboard the user may open (partners: the types of their opportunities)."""
    return render_template("dashboard/index.html", types=svc.visible_types(current_user))


@bp.route("/dashboard/<int:type_id>")
@login_required
def type_page(type_id: int):
    """One type's dashboard over the chosen period; partners see their company's opportunities only."""
    opp_type = svc.type_for(current_user, type_id) or abort(404)
    board = svc.build(opp_type, current_user, svc.period_of(request.args.get("days")))
    ctx = {"board": board, "opp_type": opp_type, "periods": svc.PERIODS, "charts": charts, "history_url": history_link,
           "num": format_decimal, "duration": duration, "status_label": lambda s: str(RUN_STATUSES.get(s, s)),
           "error_text": lambda text: str(REASONS[text]) if text in REASONS else text,
           "duration_items": lambda rows: [(f"{r.substate.state.label} › {r.substate.label}", r.median, r.p90)
                                           for r in rows],
           "stall_days": svc.STALL_DAYS, "min_sample": svc.MIN_SAMPLE}
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("dashboard/_body.html", **ctx)
    return render_template("dashboard/page.html", **ctx)


def duration(seconds: float) -> str:
    """A duration in words in the page's language ("3 days", "5 hours")."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5)


def history_link(kind: str, action_id: int | None, status: str) -> str | None:
    """The history tab that lists this kind's runs, filtered to the action and status (None: no tab)."""
    tab = next((t for t in history.tabs() if kind in t.kinds), None)
    if tab is None:
        return None
    return url_for("history.tab", tab=tab.key, status=status, action_id=action_id)
