"""Tasks (incarichi, seed 002): the task list, the task page and the Tasks section of the opportunity page."""

from flask import Blueprint

bp = Blueprint("tasks", __name__)

from blueprints.tasks import routes  # noqa: E402,F401
