"""The API's reference page (/api/docs): Swagger UI, vendored (no CDN), reading /api/openapi.json."""

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)


@bp.route("/api/docs")
def reference():
    """The interactive API reference; public, as the OpenAPI document is (calls still need a token)."""
    return render_template("api/docs.html")
