"""Settings → Partner companies: list, create, edit, and their users (SPEC S7)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms import PartnerCompanyForm
from extensions import db
from models import PartnerCompany
from models.accounts import PARTNER_KINDS
from services import partners as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


@bp.route("/partners")
@permission_required("settings.manage")
def partners():
    """Partner companies, filtered by kind, with pagination; htmx gets the table alone."""
    kind = request.args.get("kind", "")
    kind = kind if kind in PARTNER_KINDS else ""
    page = db.paginate(svc.search(kind or None), per_page=current_app.config["PER_PAGE"], error_out=False)
    template = "settings/partners/_table.html" if request.htmx and request.htmx.target == "partner-table" \
        else "settings/partners/index.html"
    return render_template(template, page=page, kind=kind, kinds=PARTNER_KINDS)


@bp.route("/partners/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def partner_create():
    """Create a partner company."""
    return _save(PartnerCompanyForm(), None)


@bp.route("/partners/<int:company_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def partner_edit(company_id: int):
    """Edit a partner company and see its users."""
    company = db.get_or_404(PartnerCompany, company_id)
    return _save(PartnerCompanyForm(obj=company), company)


def _save(form: PartnerCompanyForm, company: PartnerCompany | None):
    if form.validate_on_submit():
        data = form.service_data()
        try:
            if company:
                saved = svc.update_company(company, data, current_user)
            else:
                saved = svc.create_company(data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Partner company %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("settings.partner_edit", company_id=saved.id))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/partners/form.html", form=form, company=company), status
