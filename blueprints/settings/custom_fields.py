"""Settings → Custom fields (S11): list, create, edit (name, key, type, options, types, required), archive,
delete. Admins only (settings.manage); the form answers htmx and plain posts from one partial."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_fields import CustomFieldForm, option_rows, saved_option_rows, with_blank_rows
from extensions import db
from models import CustomField
from models.fields import FIELD_TYPES
from services import ServiceError
from services import custom_fields as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def _index(status: int = 200, template: str = "index.html", **ctx):
    return render_template(f"settings/custom_fields/{template}", rows=svc.list_fields(), field_types=FIELD_TYPES,
                           **ctx), status


def _leave():
    """Back to the list: htmx follows HX-Redirect, a plain form the 302."""
    url = url_for("settings.custom_fields")
    if request.htmx:
        return "", 204, {"HX-Redirect": url}
    return redirect(url)


def _form(form: CustomFieldForm, custom: CustomField | None, rows: list[dict], status: int,
          option_error: str | None = None):
    ctx = {"form": form, "custom": custom, "option_rows": rows, "option_error": option_error,
           "used": svc.value_count(custom) if custom else 0}
    template = "settings/custom_fields/_form.html" if request.htmx else "settings/custom_fields/form.html"
    return render_template(template, **ctx), status


def _save(custom: CustomField | None):
    form = CustomFieldForm(types=svc.offered_types(custom))
    if request.method == "GET":
        if custom is not None:
            form.fill(custom)
        return _form(form, custom, with_blank_rows(saved_option_rows(custom)), 200)
    rows = option_rows(request.form)
    if "add_option" in request.form:  # one more empty option row, nothing saved (works without JavaScript)
        blank = sum(1 for r in rows if not any(v.strip() for v in r.values()))
        return _form(form, custom, with_blank_rows(rows, blank + 1), 200)
    option_error = None
    if form.validate_on_submit():
        try:
            data = form.field_data(request.form)
            saved = svc.update_field(custom, data, current_user) if custom else svc.create_field(data, current_user)
        except InvalidData as err:
            db.session.rollback()
            option_error = err.errors.pop("options", None)
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Custom field %(name)s saved.", name=saved.label), "success")
            return _leave()
    return _form(form, custom, with_blank_rows(rows), 422, option_error)


@bp.route("/custom-fields")
@permission_required("settings.manage")
def custom_fields():
    """The custom fields of opportunities: name, key, type, the types they apply to, required, archived."""
    return _index()


@bp.route("/custom-fields/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def custom_field_create():
    """Add a custom field; refused data comes back on the form with status 422."""
    return _save(None)


@bp.route("/custom-fields/<int:field_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def custom_field_edit(field_id: int):
    """Edit a custom field; its type and key stay while opportunities hold values, chosen options stay."""
    return _save(db.get_or_404(CustomField, field_id))


@bp.route("/custom-fields/<int:field_id>/move", methods=["POST"])
@permission_required("settings.manage")
def custom_field_move(field_id: int):
    """Move a field one place up (delta=-1) or down (delta=1); htmx gets the table back."""
    custom = db.get_or_404(CustomField, field_id)
    svc.shift_field(custom, 1 if request.form.get("delta") == "1" else -1, current_user)
    db.session.commit()
    if request.htmx:
        return _index(template="_table.html", moved=custom.id)
    return redirect(url_for("settings.custom_fields"))


@bp.route("/custom-fields/<int:field_id>/archive", methods=["POST"])
@permission_required("settings.manage")
def custom_field_archive(field_id: int):
    """Archive a field: opportunities no longer show it; htmx gets its row back."""
    return _set_archived(field_id, True)


@bp.route("/custom-fields/<int:field_id>/unarchive", methods=["POST"])
@permission_required("settings.manage")
def custom_field_unarchive(field_id: int):
    """Bring an archived field back; htmx gets its row back."""
    return _set_archived(field_id, False)


def _set_archived(field_id: int, archived: bool):
    custom = db.get_or_404(CustomField, field_id)
    svc.set_archived(custom, archived, current_user)
    db.session.commit()
    if request.htmx:
        return render_template("settings/custom_fields/_row.html", cf=custom, used=svc.value_count(custom),
                               changed=True, field_types=FIELD_TYPES)
    if archived:
        flash(_("Custom field %(name)s archived.", name=custom.label), "success")
    else:
        flash(_("Custom field %(name)s restored.", name=custom.label), "success")
    return redirect(url_for("settings.custom_fields"))


@bp.route("/custom-fields/<int:field_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def custom_field_delete(field_id: int):
    """Delete a field nothing uses; otherwise the list again with the reasons (409)."""
    custom = db.get_or_404(CustomField, field_id)
    name = custom.label
    try:
        svc.delete_field(custom, current_user)
    except ServiceError as err:
        db.session.rollback()
        if request.htmx:
            raise
        flash(err.message, "error")
        return _index(err.status)
    db.session.commit()
    flash(_("Custom field %(name)s deleted.", name=name), "success")
    return _leave()
