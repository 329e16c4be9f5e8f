from flask import Blueprint

bp = Blueprint("opportunities", __name__)

from blueprints.opportunities import closing, fields, files, routes, work  # noqa: E402,F401
