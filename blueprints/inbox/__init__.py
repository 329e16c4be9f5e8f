"""The failure inbox (SPEC E10): failed and needs-review runs grouped by action and error, their bulk retry
with a progress bar, and the Resume of an action that paused itself."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from blueprints.inbox import routes  # noqa: E402,F401
