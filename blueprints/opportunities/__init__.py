from flask import Blueprint

bp = Blueprint("opportunities", __name__)

from blueprints.opportunities import closing, dry_run, fields, files, imports, routes, run_now, work  # noqa: E402,F401
