"""Settings → SMTP credentials (SPEC S1), admins only: list, create, edit, delete, test the connection."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_comms import SmtpCredentialForm
from extensions import db
from models import SmtpCredential
from services import ServiceError
from services import smtp_credentials as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


@bp.route("/smtp-credentials")
@permission_required("settings.manage")
def smtp_credentials():
    """SMTP credentials with how many automatic actions send with each."""
    return render_template("settings/smtp/index.html", rows=svc.list_credentials())


@bp.route("/smtp-credentials/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def smtp_credential_new():
    """Create SMTP credentials; refused data comes back on the form with status 422."""
    form = SmtpCredentialForm()
    if form.validate_on_submit():
        try:
            cred = svc.create_credential(form.smtp_data(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("SMTP credentials %(name)s saved.", name=cred.name), "success")
            return redirect(url_for("settings.smtp_credentials"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/smtp/form.html", form=form, cred=None), status


@bp.route("/smtp-credentials/<int:cred_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def smtp_credential_edit(cred_id: int):
    """Edit SMTP credentials; the password field stays empty and an empty one keeps the stored password."""
    cred = db.get_or_404(SmtpCredential, cred_id)
    form = SmtpCredentialForm(obj=cred if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            svc.update_credential(cred, form.smtp_data(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("SMTP credentials %(name)s saved.", name=cred.name), "success")
            return redirect(url_for("settings.smtp_credentials"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/smtp/form.html", form=form, cred=cred), status


@bp.route("/smtp-credentials/<int:cred_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def smtp_credential_delete(cred_id: int):
    """Delete SMTP credentials that no automatic action uses."""
    cred = db.get_or_404(SmtpCredential, cred_id)
    name = cred.name
    try:
        svc.delete_credential(cred, current_user)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.smtp_credentials"))
    db.session.commit()
    flash(_("SMTP credentials %(name)s deleted.", name=name), "success")
    return redirect(url_for("settings.smtp_credentials"))


@bp.route("/smtp-credentials/test", methods=["POST"])
@permission_required("settings.manage")
def smtp_credential_test():
    """Test the form's values before saving (htmx): the server's answer in plain words."""
    return _test(None)


@bp.route("/smtp-credentials/<int:cred_id>/test", methods=["POST"])
@permission_required("settings.manage")
def smtp_credential_test_saved(cred_id: int):
    """Test the form's values with the stored password when the field is left empty (htmx)."""
    return _test(db.get_or_404(SmtpCredential, cred_id))


def _test(cred: SmtpCredential | None):
    form = SmtpCredentialForm()
    try:
        report = svc.test_connection(form.smtp_data(), stored=cred)
    except InvalidData as err:
        return render_template("settings/smtp/_test_result.html", report=None, errors=err.errors), 422
    finally:
        db.session.rollback()  # a test changes nothing
    return render_template("settings/smtp/_test_result.html", report=report, errors=None)
