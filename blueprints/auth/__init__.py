from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import absences, routes  # noqa: E402,F401
