from flask import render_template

from blueprints.settings import bp
from services.access import internal_required


@bp.route("/")
@internal_required
def index():
    """Settings home: the sections this user may open."""
    return render_template("settings/index.html")
