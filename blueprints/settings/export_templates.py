"""Settings → Export templates (SPEC A9), admins only: a name, the chosen opportunity columns and the file
format (CSV or XLSX); which rows an export holds is said in engine/exports.py and docs/email.md."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.settings import bp
from blueprints.settings.forms_files import ExportTemplateForm
from engine import exports
from extensions import db
from models import ExportTemplate
from services import ServiceError
from services import report_templates as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


@bp.route("/export-templates")
@permission_required("settings.manage")
def export_templates():
    """Export templates with their columns, format and how many automatic actions use each."""
    return render_template("settings/export_templates/index.html", rows=svc.list_exports(),
                           columns=dict(exports.column_choices()))


def _save(template: ExportTemplate | None):
    form = ExportTemplateForm()
    if request.method == "GET":
        if template is not None:
            form.fill(template)
        return render_template("settings/export_templates/form.html", form=form, template=template)
    if form.validate_on_submit():
        try:
            saved = svc.save_export(template, form.data_of())
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Export template %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("settings.export_templates"))
    return render_template("settings/export_templates/form.html", form=form, template=template), 422


@bp.route("/export-templates/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def export_template_new():
    """Create an export template."""
    return _save(None)


@bp.route("/export-templates/<int:template_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def export_template_edit(template_id: int):
    """Edit an export template."""
    return _save(db.get_or_404(ExportTemplate, template_id))


@bp.route("/export-templates/<int:template_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def export_template_delete(template_id: int):
    """Delete an export template that no automatic action uses."""
    template = db.get_or_404(ExportTemplate, template_id)
    name = template.name
    try:
        svc.delete_record(template, "export_template_id")
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.export_templates"))
    db.session.commit()
    flash(_("Export template %(name)s deleted.", name=name), "success")
    return redirect(url_for("settings.export_templates"))
