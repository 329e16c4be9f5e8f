"""Long work in the background (issue 14 item 8): its progress bar, its cancel button, and the list that
finds it again after the page that started it was left."""

from flask import Blueprint

bp = Blueprint("progress", __name__)

from blueprints.progress import routes  # noqa: E402,F401
