"""The flow dashboard (issue 14 item 7): figures per opportunity type, scoped like the action history."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from blueprints.dashboard import routes  # noqa: E402,F401
