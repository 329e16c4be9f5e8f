"""Opportunity import (P3b): upload a CSV or XLSX, see a preview of every row with its errors, then import
all rows in one transaction, only when none has an error. Between the two steps the upload waits under
FILES_DIR/imports with a random name that only the uploader's session knows; it is deleted once imported."""

import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from blueprints.opportunities import bp
from extensions import db
from services import ServiceError
from services import opportunity_import as svc
from services.access import permission_required
from services.import_files import MAX_ROWS, FileRefused, kind_of, read_table
from services.validation import InvalidData

SESSION_KEY = "opportunity_import"
TOKEN = re.compile(r"[0-9a-f]{32}")
STALE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.config["FILES_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(pending: dict | None) -> Path | None:
    """The stored upload the session names (never a path a client sent), or None."""
    if not pending or not TOKEN.fullmatch(str(pending.get("token", ""))) or pending.get("kind") not in ("csv", "xlsx"):
        return None
    return _folder() / f"{pending['token']}.{pending['kind']}"


def _forget() -> None:
    path = _path(session.pop(SESSION_KEY, None))
    if path is not None:
        path.unlink(missing_ok=True)


def _sweep() -> None:
    """Delete uploads left waiting for a day (a preview never imported)."""
    cutoff = time.time() - STALE_SECONDS
    with os.scandir(_folder()) as entries:
        for count, entry in enumerate(entries):
            if count > 1000:
                break
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)


def _page(status: int = 200, **ctx):
    limits = {"max_rows": MAX_ROWS, "max_mb": f"{current_app.config['IMPORT_MAX_BYTES'] / 1048576:g}",
              "columns": svc.STANDARD}
    return render_template("opportunities/import.html", **limits, **ctx), status


def _refused(err: FileRefused):
    return _page(err.status, file_error=err.message)


@bp.route("/opportunities/import")
@permission_required("opportunities.edit")
def import_form():
    """The upload form of the opportunity import."""
    return _page()


@bp.route("/opportunities/import", methods=["POST"])
@permission_required("opportunities.edit")
def import_preview():
    """Read the uploaded file and show what importing it would do, row by row; 422 when a row has errors."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(400, file_error=_("Choose a CSV or XLSX file to import."))
    limit = current_app.config["IMPORT_MAX_BYTES"]
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        return _page(413, file_error=_("The file is larger than %(size)s MB.", size=f"{limit / 1048576:g}"))
    try:
        kind = kind_of(upload.filename, content)
        plan = svc.plan(read_table(kind, content), current_user)
    except FileRefused as err:
        return _refused(err)
    _forget()
    _sweep()
    pending = {"token": secrets.token_hex(16), "kind": kind, "name": upload.filename[:120]}
    if not plan.ok:  # nothing to import: the file is not kept
        return _page(422, plan=plan, pending=pending)
    _path(pending).write_bytes(content)
    session[SESSION_KEY] = pending
    return _page(plan=plan, pending=pending)


@bp.route("/opportunities/import/commit", methods=["POST"])
@permission_required("opportunities.edit")
def import_commit():
    """Import every row of the previewed file in one transaction, only if no row has an error."""
    pending = session.get(SESSION_KEY)
    path = _path(pending)
    if path is None or request.form.get("token") != pending.get("token") or not path.is_file():
        return _page(400, file_error=_("This import is no longer waiting: upload the file again."))
    try:
        plan = svc.plan(read_table(pending["kind"], path.read_bytes()), current_user)
    except FileRefused as err:
        _forget()
        return _refused(err)
    if not plan.ok:  # the data changed since the preview: show the rows as they read now
        return _page(422, plan=plan, pending=pending)
    try:
        saved = svc.apply(plan, current_user)
        db.session.commit()
    except (InvalidData, ServiceError) as err:
        db.session.rollback()
        return _page(422, plan=plan, pending=pending, file_error=err.message)
    _forget()
    flash(ngettext("%(num)d opportunity imported.", "%(num)d opportunities imported.", len(saved)), "success")
    return redirect(url_for("opportunities.index"))
