"""The calendar: each user's week and month of scheduled activities and task deadlines, and their
personal iCalendar feed (issue 11, item 7)."""

from flask import Blueprint

bp = Blueprint("calendar", __name__)

from blueprints.calendar import routes  # noqa: E402,F401
