"""Downloads of the files automatic actions sent (reports, exports: SPEC A6, A9), scoped like the
opportunity itself: a user who may not see the opportunity gets 404, never a hint that the file exists;
partner users get reports only (an export holds other opportunities' rows)."""

from io import BytesIO

from flask import abort, send_file
from flask_login import current_user, login_required

from blueprints.opportunities import bp
from engine import files
from services.access import get_opportunity_or_404
from services.report_templates import sent_files


@bp.route("/opportunities/<int:opp_id>/files/<int:file_id>")
@login_required
def file_download(opp_id: int, file_id: int):
    """Exactly the bytes that were sent (checked against their sha256), as an attachment."""
    opp = get_opportunity_or_404(opp_id)
    row = next((f for f in sent_files(opp, current_user) if f.id == file_id), None)
    content = files.read(row) if row is not None else None
    if content is None:
        abort(404)
    return send_file(BytesIO(content), mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                     etag=row.sha256, max_age=0)
