"""Settings → Report templates (SPEC S3), admins only: label, HTML+CSS with placeholders checked at save
(422 with the line and reason), paper size and orientation, preview as PDF with a chosen opportunity."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.settings import bp
from blueprints.settings.forms_files import ReportPreviewForm, ReportTemplateForm
from engine.kinds.base import options
from engine.render import placeholders
from extensions import db
from models import Opportunity, ReportTemplate
from services import ServiceError
from services import report_templates as svc
from services.access import permission_required, visible_opportunities
from services.validation import InvalidData, record_id, show_on_form


@bp.route("/report-templates")
@permission_required("settings.manage")
def report_templates():
    """Report templates with their paper size and how many automatic actions use each."""
    return render_template("settings/report_templates/index.html", rows=svc.list_reports())


def _editor(form: ReportTemplateForm, template: ReportTemplate | None, status: int = 200):
    preview = ReportPreviewForm()
    opps = db.session.execute(visible_opportunities().order_by(Opportunity.id.desc()).limit(50)).scalars()
    preview.preview_opportunity.choices = options([(o.id, f"#{o.id} {o.name}") for o in opps])
    return render_template("settings/report_templates/form.html", form=form, template=template,
                           preview_form=preview, placeholders=placeholders()), status


def _save(template: ReportTemplate | None):
    form = ReportTemplateForm()
    if request.method == "GET":
        if template is not None:
            form.fill(template)
        return _editor(form, template)
    if form.validate_on_submit():
        try:
            saved = svc.save_report(template, form.data_of())
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Report template %(name)s saved.", name=saved.label), "success")
            return redirect(url_for("settings.report_templates"))
    return _editor(form, template, 422)


@bp.route("/report-templates/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def report_template_new():
    """Create a report template; one that does not parse or leaves the sandbox is refused (422)."""
    return _save(None)


@bp.route("/report-templates/<int:template_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def report_template_edit(template_id: int):
    """Edit a report template; nothing is saved while it is refused."""
    return _save(db.get_or_404(ReportTemplate, template_id))


@bp.route("/report-templates/<int:template_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def report_template_delete(template_id: int):
    """Delete a report template that no automatic action uses."""
    template = db.get_or_404(ReportTemplate, template_id)
    label = template.label
    try:
        svc.delete_record(template, "report_template_id")
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.report_templates"))
    db.session.commit()
    flash(_("Report template %(name)s deleted.", name=label), "success")
    return redirect(url_for("settings.report_templates"))


@bp.route("/report-templates/preview", methods=["POST"])
@permission_required("settings.manage")
def report_template_preview():
    """The editor's current template as a PDF for a chosen opportunity and language."""
    form, choice = ReportTemplateForm(), ReportPreviewForm()
    template = db.session.get(ReportTemplate, request.form.get("template_id", type=record_id) or 0)
    opp = None
    if choice.preview_opportunity.data:
        opp = db.session.execute(visible_opportunities().where(Opportunity.id == choice.preview_opportunity.data)
                                 ).scalar_one_or_none()
    if not form.validate_on_submit():
        return _editor(form, template, 422)
    if opp is None:
        form.form_errors.append(_("Choose an opportunity to preview with."))
        return _editor(form, template, 422)
    lang = choice.preview_language.data if choice.preview_language.data in ("it", "es", "en") else "en"
    try:
        content = svc.preview_report(form.data_of(), opp, lang)
    except InvalidData as err:
        show_on_form(form, err)
        return _editor(form, template, 422)
    except ServiceError as err:
        form.form_errors.append(err.message)
        return _editor(form, template, 422)
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="preview.pdf"'})
