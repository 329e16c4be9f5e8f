"""Downloads of the files automatic actions sent (reports, exports: SPEC A6, A9), scoped like the
opportunity itself: a user who may not see the opportunity gets 404, never a hint that the file exists."""

from io import BytesIO

from flask import abort, send_file
from flask_login import login_required
from sqlalchemy import select

from blueprints.opportunities import bp
from engine import files
from extensions import db
from models import StoredFile
from services.access import get_opportunity_or_404


@bp.route("/opportunities/<int:opp_id>/files/<int:file_id>")
@login_required
def file_download(opp_id: int, file_id: int):
    """Exactly the bytes that were sent (checked against their sha256), as an attachment."""
    opp = get_opportunity_or_404(opp_id)
    row = db.session.execute(select(StoredFile).where(StoredFile.id == file_id, StoredFile.opportunity_id == opp.id)
                             ).scalar_one_or_none()
    content = files.read(row) if row is not None else None
    if content is None:
        abort(404)
    return send_file(BytesIO(content), mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                     etag=row.sha256, max_age=0)
