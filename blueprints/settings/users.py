"""Settings → Users: list, create, edit (SPEC S7, S8, S9)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms import UserForm, timezone_names
from extensions import db
from models import PartnerCompany, User
from models.accounts import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from services import users as svc
from services.access import permission_required
from services.validation import InvalidData, record_id, show_on_form


@bp.route("/users")
@permission_required("settings.manage")
def users():
    """User list with search, role and company filters and pagination; htmx gets the table alone."""
    role = request.args.get("role", "")
    filters = {
        "q": request.args.get("q", "")[:100],
        "role": role if role in ROLES else "",
        "company": request.args.get("company", type=record_id),
    }
    stmt = svc.search(filters["q"], filters["role"] or None, filters["company"])
    page = db.paginate(stmt, per_page=current_app.config["PER_PAGE"], error_out=False)
    template = "settings/users/_table.html" if request.htmx and request.htmx.target == "user-table" \
        else "settings/users/index.html"
    return render_template(template, page=page, filters=filters, companies=svc.company_choices(everyone=True),
                           roles=ROLES)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def user_create():
    """Create a user; ?company=<id> starts a partner user of that company."""
    company = db.session.get(PartnerCompany, request.args.get("company", type=record_id) or 0)
    prefill = {"role": "partner", "company_id": company.id} if company else {}
    form = UserForm(companies=svc.company_choices(company.id if company else None),
                    supervisors=svc.supervisor_choices(), new=True, **prefill)
    return _save(form, None, company)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def user_edit(user_id: int):
    """Edit a user: identity, role, company, supervisor, working hours, grants, password."""
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user, extra_permissions=[g.name for g in user.granted],
                    companies=svc.company_choices(user.company_id), supervisors=svc.supervisor_choices(user))
    return _save(form, user, None)


def _save(form: UserForm, user: User | None, company: PartnerCompany | None):
    if form.validate_on_submit():
        data = form.service_data()
        try:
            saved = svc.update_user(user, data, current_user) if user else svc.create_user(data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("User %(name)s saved.", name=saved.name), "success")
            if company is not None and saved.company_id == company.id:
                return redirect(url_for("settings.partner_edit", company_id=company.id))
            return redirect(url_for("settings.users"))
    status = 422 if request.method == "POST" else 200
    included = {perm: ", ".join(str(label) for role, label in ROLES.items() if perm in ROLE_PERMISSIONS[role])
                for perm in PERMISSIONS}
    return render_template("settings/users/form.html", form=form, user=user, company=company,
                           role_permissions=ROLE_PERMISSIONS, included=included,
                           timezones=timezone_names()), status
