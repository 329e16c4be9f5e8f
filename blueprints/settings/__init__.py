from flask import Blueprint

bp = Blueprint("settings", __name__)

from blueprints.settings import activity_types, assignment, channels, partners, routes, users  # noqa: E402,F401
