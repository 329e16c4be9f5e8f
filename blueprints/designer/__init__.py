"""Settings → Opportunity types and processes: the visual flow designer (SPEC §1, D1–D10)."""

from flask import Blueprint

bp = Blueprint("designer", __name__)

from blueprints.designer import (  # noqa: E402,F401
    routes_actions,
    routes_changes,
    routes_dryrun,
    routes_flow,
    routes_required,
    routes_transfer,
    routes_triggers,
)
