"""Settings → Email templates (SPEC S2), admins only: subject and HTML body per language, checked in
the sandbox at save (422 with the language, line and reason), preview with a chosen opportunity."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_comms import EmailTemplateForm, PreviewForm
from engine.render import placeholders
from extensions import db
from models import EmailTemplate, Opportunity
from services import ServiceError
from services import email_templates as svc
from services.access import permission_required, visible_opportunities
from services.validation import InvalidData, show_on_form


@bp.route("/email-templates")
@permission_required("settings.manage")
def email_templates():
    """Email templates with their languages and how many automatic actions use each."""
    return render_template("settings/email_templates/index.html", rows=svc.list_templates(),
                           languages=svc.LANGUAGE_LABELS)


def _editor(form: EmailTemplateForm, template: EmailTemplate | None, status: int = 200):
    preview = PreviewForm()
    opps = db.session.execute(visible_opportunities().order_by(Opportunity.id.desc()).limit(50)).scalars()
    preview.preview_opportunity.choices = [(o.id, f"#{o.id} {o.name}") for o in opps]
    return render_template("settings/email_templates/form.html", form=form, template=template, preview_form=preview,
                           placeholders=placeholders(), languages=svc.LANGUAGE_LABELS, preview=None), status


@bp.route("/email-templates/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def email_template_new():
    """Create an email template; a template that does not parse or leaves the sandbox is refused (422)."""
    form = EmailTemplateForm()
    if form.validate_on_submit():
        try:
            template = svc.create_template(form.template_data(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Email template %(name)s saved.", name=template.name), "success")
            return redirect(url_for("settings.email_templates"))
    return _editor(form, None, 422 if request.method == "POST" else 200)


@bp.route("/email-templates/<int:template_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def email_template_edit(template_id: int):
    """Edit an email template; nothing is saved while any language is refused."""
    template = db.get_or_404(EmailTemplate, template_id)
    form = EmailTemplateForm()
    if request.method == "GET":
        form.fill(template)
    elif form.validate_on_submit():
        try:
            svc.update_template(template, form.template_data(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Email template %(name)s saved.", name=template.name), "success")
            return redirect(url_for("settings.email_templates"))
    return _editor(form, template, 422 if request.method == "POST" else 200)


@bp.route("/email-templates/<int:template_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def email_template_delete(template_id: int):
    """Delete an email template that no automatic action uses."""
    template = db.get_or_404(EmailTemplate, template_id)
    name = template.name
    try:
        svc.delete_template(template, current_user)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.email_templates"))
    db.session.commit()
    flash(_("Email template %(name)s deleted.", name=name), "success")
    return redirect(url_for("settings.email_templates"))


@bp.route("/email-templates/preview", methods=["POST"])
@permission_required("settings.manage")
def email_template_preview():
    """The editor's current texts rendered for a chosen opportunity in a chosen language (htmx)."""
    form, choice = EmailTemplateForm(), PreviewForm()
    opp = None
    if choice.preview_opportunity.data:
        opp = db.session.execute(visible_opportunities().where(Opportunity.id == choice.preview_opportunity.data)
                                 ).scalar_one_or_none()
    lang = choice.preview_language.data if choice.preview_language.data in svc.LANGUAGE_LABELS else "en"
    if opp is None:
        return render_template("settings/email_templates/_preview.html", preview=None,
                               errors=[_("Choose an opportunity to preview with.")]), 422
    try:
        preview = svc.preview(form.template_data(), opp, lang)
    except InvalidData as err:
        return render_template("settings/email_templates/_preview.html", preview=None,
                               errors=list(err.errors.values())), 422
    except ServiceError as err:
        return render_template("settings/email_templates/_preview.html", preview=None, errors=[err.message]), 422
    return render_template("settings/email_templates/_preview.html", preview=preview, errors=None,
                           languages=svc.LANGUAGE_LABELS)
