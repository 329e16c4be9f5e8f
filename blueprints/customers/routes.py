from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.customers import bp
from blueprints.customers.forms import CustomerForm
from blueprints.page_cache import cached_page
from extensions import db
from models import Customer
from services import customers as svc
from services.access import internal_required, permission_required


@bp.route("/")
@internal_required
@cached_page
def index():
    """Customer list with search and pagination; htmx gets the table alone."""
    q = request.args.get("q", "")[:100]
    page = db.paginate(svc.search(q), per_page=current_app.config["PER_PAGE"], error_out=False)
    template = "customers/_table.html" if request.htmx and request.htmx.target == "customer-table" else "customers/index.html"
    return render_template(template, page=page, q=q)


def _save(form: CustomerForm, customer: Customer | None):
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k != "csrf_token"}
        customer = svc.update_customer(customer, data) if customer else svc.create_customer(data)
        db.session.commit()
        flash(_("Customer saved."), "success")
        return redirect(url_for("customers.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("customers/form.html", form=form, customer=customer), status


@bp.route("/new", methods=["GET", "POST"])
@permission_required("customers.edit")
def create():
    """Create a customer."""
    return _save(CustomerForm(), None)


@bp.route("/<int:customer_id>", methods=["GET", "POST"])
@internal_required
def edit(customer_id: int):
    """Show a customer; users who may edit customers can change it here."""
    customer = db.get_or_404(Customer, customer_id)
    form = CustomerForm(obj=customer)
    if request.method == "POST" and not current_user.can("customers.edit"):
        abort(403)
    return _save(form, customer)


@bp.route("/<int:customer_id>/delete", methods=["POST"])
@permission_required("customers.edit")
def delete(customer_id: int):
    """Delete a customer that has no opportunities."""
    customer = db.get_or_404(Customer, customer_id)
    svc.delete_customer(customer)
    db.session.commit()
    flash(_("Customer deleted."), "success")
    return redirect(url_for("customers.index"))
