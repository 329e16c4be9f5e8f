"""The Fields panel of the opportunity page (S11, T2): the system fields and the live custom fields of the
opportunity's type, each edited inline. Saving goes through services.field_values.set_value (read in the
user's language, validated, announced), so a process automation tied to the field closes its substate: the
answer carries the flow panel too (an htmx out-of-band swap).

Every route first scopes the opportunity to the user (get_opportunity_or_404): a partner user gets 404 for
an opportunity not assigned to its company; partners read the fields of their own but do not edit them."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.opportunities import bp
from blueprints.opportunities.page import fields_context, flow_context, may_edit_fields, page_context
from extensions import db
from services import ServiceError
from services import field_values as fv
from services.access import get_opportunity_or_404
from services.validation import InvalidData


def _detail_url(opp, ref: str | None = None) -> str:
    anchor = "field-" + ref.replace(":", "-") if ref else "fields"
    return url_for("opportunities.detail", opp_id=opp.id, edit_field=ref, _anchor=anchor)


@bp.route("/opportunities/<int:opp_id>/fields")
@login_required
def fields(opp_id: int):
    """The Fields panel alone (htmx), with one field's input open when `edit` names it."""
    opp = get_opportunity_or_404(opp_id)
    ref = request.args.get("edit") or None
    if ref is not None:
        if not may_edit_fields(current_user):
            abort(403)
        fv.field_of(opp, ref)  # 404 for a field this opportunity does not have
    if not request.htmx:
        return redirect(_detail_url(opp, ref))
    return render_template("opportunities/_fields.html", **fields_context(opp, editing=ref))


@bp.route("/opportunities/<int:opp_id>/fields/<ref>", methods=["POST"])
@login_required
def field_save(opp_id: int, ref: str):
    """Save one field's value as typed; a refused value comes back at its input (422), nothing saved."""
    opp = get_opportunity_or_404(opp_id)
    if not may_edit_fields(current_user):
        abort(403)
    field = fv.field_of(opp, ref)
    raw = request.form.getlist("value") if field.field_type == "multi_choice" else request.form.get("value", "")
    try:
        fv.set_value(opp, ref, raw, current_user)
    except InvalidData as err:
        db.session.rollback()
        refused = {"editing": ref, "error": err.errors.get(ref) or err.message, "typed": raw}
        if request.htmx:
            return render_template("opportunities/_fields.html", **fields_context(opp, **refused)), 422
        return render_template("opportunities/detail.html", **page_context(opp, **refused)), 422
    db.session.commit()
    message = _("“%(name)s” saved.", name=field.label)
    if request.htmx:
        # Filling the field may have closed a substate (process automation): the flow panel comes along.
        return (render_template("opportunities/_fields.html", **fields_context(opp, announce=message))
                + render_template("opportunities/_flow.html", oob=True, **flow_context(opp)))
    flash(message, "success")
    return redirect(_detail_url(opp))


def editing_from_query(opp) -> str | None:
    """The field the page opens for editing without JavaScript (?edit_field=…), if the user may edit it."""
    ref = request.args.get("edit_field") or None
    if ref is None or not may_edit_fields(current_user):
        return None
    try:
        fv.field_of(opp, ref)
    except ServiceError:
        return None
    return ref
