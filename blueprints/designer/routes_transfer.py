"""D14: a type's flow exported as a JSON file, and a flow file imported into an empty type or as a new type.
Exporting is a read (internal users); importing needs "Modify opportunity states" (D9)."""

import json

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.designer import bp
from blueprints.designer.views import EDIT_PERMISSION, get_type
from extensions import db
from models import OpportunityType
from services import flow_reader, flow_transfer
from services.access import internal_required, permission_required
from services.import_files import FileRefused
from services.validation import record_id_or_none


@bp.route("/<int:type_id>/export.json")
@internal_required
def export_type(type_id: int):
    """The type's flow as a JSON file to download (docs/flow-format.md)."""
    opp_type = get_type(type_id)
    body = json.dumps(flow_transfer.export_type(opp_type), ensure_ascii=False, indent=2)
    filename = f"flow-{opp_type.id}-v{opp_type.config_version}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _targets():
    """The types a flow may go into: the empty ones."""
    from services import flow as flow_svc

    return [t for t in flow_svc.list_types() if not t.states]


def _page(status: int = 200, problems: list[str] | None = None):
    selected = request.values.get("target") or "new"
    return render_template("designer/import.html", targets=_targets(), selected=selected, problems=problems or [],
                           name=request.form.get("name", ""), max_kb=flow_reader.MAX_BYTES // 1024), status


@bp.route("/import")
@permission_required(EDIT_PERMISSION)
def import_page():
    """The form to import a flow file into an empty type or as a new type."""
    return _page()


@bp.route("/import", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def import_flow():
    """Check the whole file and write its flow, or answer every problem found (4xx, nothing written)."""
    target = None
    if request.form.get("target", "new") != "new":
        target = db.session.get(OpportunityType, record_id_or_none(request.form.get("target")) or 0)
        if target is None:
            abort(404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, [_("Choose a flow file (.json) to import.")])
    content = upload.read(flow_reader.MAX_BYTES + 1)
    upload.close()  # a large upload is spooled to a temporary file: free it now, not at garbage collection
    try:
        opp_type = flow_transfer.import_flow(content, get_type(target.id) if target else None,
                                             request.form.get("name"))
        db.session.commit()
    except (FileRefused, flow_reader.ImportRefused) as err:
        db.session.rollback()
        return _page(err.status, getattr(err, "problems", None) or [err.message])
    return redirect(url_for("designer.type_page", type_id=opp_type.id))
