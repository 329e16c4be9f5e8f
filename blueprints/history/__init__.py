from flask import Blueprint

bp = Blueprint("history", __name__)

from blueprints.history import routes  # noqa: E402,F401
