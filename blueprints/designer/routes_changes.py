"""D12: a type's Changes page (who changed what in its flow, with a readable diff) and restoring an earlier
version of an automatic action or a substate. Internal users read it; restoring needs "Modify opportunity
states" (D9). Partners never reach the designer (internal_required)."""

from flask import render_template, request
from flask_babel import gettext as _

from blueprints.designer import bp
from blueprints.designer.views import EDIT_PERMISSION, can_edit, get_type, wants_fragment
from extensions import db
from services import ServiceError
from services import flow_versions as svc
from services.access import internal_required, permission_required
from services.locale_input import InputRefused, parse_date
from services.validation import record_id_or_none

PAGE = 50


def _filters(args) -> tuple[svc.Filters, list[str]]:
    """The page's filters from its query; dates that do not read are named and left out."""
    problems, dates = [], {}
    for name in ("from", "to"):
        try:
            dates[name] = parse_date(args[name]) if args.get(name) else None
        except InputRefused as err:
            dates[name] = None
            problems.append(err.message)
    entity = args.get("entity") if args.get("entity") in svc.ENTITIES else None
    return svc.Filters(entity=entity, user_id=record_id_or_none(args.get("user")), start=dates["from"],
                       end=dates["to"], before_id=record_id_or_none(args.get("before"))), list(dict.fromkeys(problems))


def _render(opp_type, status: int = 200, message: str | None = None, restored: str | None = None):
    filters, problems = _filters(request.args)
    changes = svc.list_changes(opp_type, filters, PAGE + 1)
    ctx = {"opp_type": opp_type, "changes": changes[:PAGE], "more": len(changes) > PAGE, "diff": svc.diff,
           "entities": svc.ENTITIES, "operations": svc.OPERATIONS, "authors": svc.authors(opp_type),
           "args": request.args, "problems": problems, "message": message, "restored": restored,
           "can_edit": can_edit(), "restorable": svc.RESTORABLE}
    if wants_fragment():
        return render_template("designer/_changes.html", **ctx), status
    return render_template("designer/changes.html", **ctx), status


@bp.route("/<int:type_id>/changes")
@internal_required
def changes(type_id: int):
    """The type's flow changes, newest first, filterable by kind, user and dates; htmx gets the list."""
    return _render(get_type(type_id))


@bp.route("/<int:type_id>/changes/<int:change_id>/restore", methods=["POST"])
@permission_required(EDIT_PERMISSION)
def restore_change(type_id: int, change_id: int):
    """Put the action or substate back as it was after that change (recorded as a change itself)."""
    opp_type = get_type(type_id)
    try:
        svc.restore(opp_type, change_id)
        db.session.commit()
    except ServiceError as err:
        db.session.rollback()
        return _render(opp_type, err.status, message=err.message)
    return _render(opp_type, restored=_("Restored. The restore is listed as the newest change."))
