from flask import Blueprint

bp = Blueprint("opportunities", __name__)

from blueprints.opportunities import routes  # noqa: E402,F401
