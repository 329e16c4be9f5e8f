"""Process automations (SPEC T2, seed 003): the admins' panel, reached from the user menu."""

from flask import Blueprint

bp = Blueprint("automations", __name__)

from blueprints.automations import routes  # noqa: E402,F401
