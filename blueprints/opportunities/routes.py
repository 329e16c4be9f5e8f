from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from blueprints.opportunities import bp
from blueprints.opportunities.fields import editing_from_query
from blueprints.opportunities.forms import OpportunityForm
from blueprints.opportunities.page import page_context
from blueprints.page_cache import cached_page
from extensions import db
from models import Channel, Customer, Opportunity, OpportunityType, User
from services import ServiceError
from services import opportunities as svc
from services import opportunity_fields as fields_svc
from services.access import get_opportunity_or_404, permission_required
from services.validation import InvalidData, record_id, show_on_form


@bp.route("/opportunities")
@login_required
@cached_page
def index():
    """Opportunity list with filters (custom fields too), chosen columns and pagination; htmx gets the table
    alone. A field filter that does not read answers 422 with its message and no rows."""
    fields = fields_svc.list_fields(request.args.get("type", type=record_id))
    filters, errors = svc.filters_from(request.args, fields)
    columns = fields_svc.chosen_columns(request.args, fields)
    ctx = {"filters": filters, "fields": fields, "columns": columns, "field_errors": errors, "args": request.args,
           "choices": svc.filter_choices()}
    if errors:
        ctx.update(page=None, open_subs={}, values={})
    else:
        page = svc.paginate(filters, current_app.config["PER_PAGE"])
        ctx.update(page=page, open_subs=svc.open_substates_by_opportunity([o.id for o in page.items]),
                   values=fields_svc.column_values(page.items, columns))
    status = 422 if errors else 200
    if request.htmx and request.htmx.target == "opp-table":
        return render_template("opportunities/_table.html", **ctx), status
    return render_template("opportunities/index.html", **ctx), status


@bp.route("/opportunities/<int:opp_id>")
@login_required
@cached_page
def detail(opp_id: int):
    """Opportunity detail: client, channel, amount, partners and the flow with open/close buttons."""
    # Its partners with it: the page names both (two queries fewer).
    opp = get_opportunity_or_404(opp_id, options=(joinedload(Opportunity.installer), joinedload(Opportunity.commercial)))
    return render_template("opportunities/detail.html", **page_context(opp, editing=editing_from_query(opp)))


def _fill_choices(form: OpportunityForm, opp=None) -> None:
    types = db.session.execute(
        select(OpportunityType).where(OpportunityType.archived.is_(False)).order_by(OpportunityType.name)
    ).scalars()
    # A required select's placeholder has an empty value (HTML): it coerces to None, which DataRequired refuses.
    form.type_id.choices = [("", "—")] + [(t.id, t.label) for t in types]
    # Deactivated channels are not offered, except the one an opportunity already has.
    current = opp.channel_id if opp else None
    channels = select(Channel).where(or_(Channel.active.is_(True), Channel.id == current)).order_by(Channel.name)
    form.channel_id.choices = [("", "—")] + [(c.id, c.label) for c in db.session.execute(channels).scalars()]
    form.customer_id.choices = [("", "—")] + [
        (c.id, c.name) for c in db.session.execute(select(Customer).order_by(Customer.name)).scalars()
    ]
    internal = select(User).where(User.role != "partner", User.active.is_(True)).order_by(User.name)
    form.owner_id.choices = [(0, "—")] + [(u.id, u.name) for u in db.session.execute(internal).scalars()]


def _save(form: OpportunityForm, opp=None):
    _fill_choices(form, opp)
    if form.validate_on_submit():
        try:
            data = form.data_for_service()
            opp = (svc.update_opportunity(opp, data, current_user) if opp
                   else svc.create_opportunity(data, current_user))
            db.session.commit()
            flash(_("Opportunity saved."), "success")
            return redirect(url_for("opportunities.detail", opp_id=opp.id))
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        except ServiceError as err:
            db.session.rollback()
            form.form_errors.append(err.message)
    status = 422 if request.method == "POST" else 200
    return render_template("opportunities/form.html", form=form, opp=opp), status


@bp.route("/opportunities/new", methods=["GET", "POST"])
@permission_required("opportunities.edit")
def create():
    """Create an opportunity."""
    form = OpportunityForm()
    if request.method == "GET" and request.args.get("customer", type=record_id):
        form.customer_id.data = request.args.get("customer", type=record_id)
    return _save(form)


@bp.route("/opportunities/<int:opp_id>/edit", methods=["GET", "POST"])
@permission_required("opportunities.edit")
def edit(opp_id: int):
    """Edit an opportunity."""
    opp = get_opportunity_or_404(opp_id)
    form = OpportunityForm(obj=opp)
    return _save(form, opp)
