from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import absences, routes, tokens  # noqa: E402,F401
