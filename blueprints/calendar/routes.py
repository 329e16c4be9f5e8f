"""GET /calendar (week and month views; htmx gets the calendar alone), the feed address's buttons, and the
public GET /calendar/feed/<token>.ics that other calendars subscribe to."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.calendar import bp
from extensions import db, limiter
from models import User
from services import calendar as cal
from services import calendar_feed as feeds


@bp.route("/calendar")
@login_required
def index():
    """The user's calendar: ?view=month|week&date=YYYY-MM-DD, in their time zone and language."""
    view, day, notes = cal.parse_request(request.args, cal.today_for(current_user))
    ctx = {**cal.calendar_page(current_user, view, day), "notes": notes}
    if request.htmx and not request.htmx.history_restore_request:
        return render_template("calendar/_calendar.html", **ctx)
    feed = feeds.feed_of(current_user)
    return render_template("calendar/index.html", feed=feed, feed_url=feeds.address(feed) if feed else None, **ctx)


@bp.route("/calendar/feed", methods=["POST"])
@login_required
def feed_create():
    """Create the user's secret feed address, or replace it with a new one (the old stops working)."""
    renewed = feeds.feed_of(current_user) is not None
    feeds.new_address(current_user)
    db.session.commit()
    flash(_("A new address was created: the previous one no longer works.") if renewed else
          _("Your calendar address was created: add it to your calendar app."), "success")
    return redirect(url_for("calendar.index", _anchor="calendar-feed"))


@bp.route("/calendar/feed/stop", methods=["POST"])
@login_required
def feed_revoke():
    """Stop sharing: the address stops working at once."""
    if feeds.stop_sharing(current_user):
        db.session.commit()
        flash(_("Sharing stopped: your calendar address no longer works."), "success")
    else:
        flash(_("Your calendar is not shared."), "info")
    return redirect(url_for("calendar.index", _anchor="calendar-feed"))


@bp.route("/calendar/feed/<token>.ics")
@limiter.limit(lambda: current_app.config["CALENDAR_FEED_RATE_LIMIT"])
def feed(token: str):
    """The user's calendar as iCalendar, for subscriptions (no login: the secret address is the key)."""
    found = feeds.find(token)
    if found is None:
        abort(404)
    body = feeds.build(db.session.get(User, found.user_id))
    db.session.commit()  # last_used_at
    return body, 200, {"Content-Type": "text/calendar; charset=utf-8",
                       "Content-Disposition": 'inline; filename="oppflow.ics"',
                       "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
