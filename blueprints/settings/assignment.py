"""Settings → Assignment criteria: rules that pick the installer or commercial company (SPEC S5)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from blueprints.settings import bp
from blueprints.settings.forms_work import AssignmentRuleForm
from extensions import db
from models import AssignmentRule, Channel, OpportunityType
from models.accounts import PARTNER_KINDS
from services import ServiceError
from services import assignment_rules as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


@bp.route("/assignment-criteria")
@permission_required("settings.manage")
def assignment_criteria():
    """The criteria by partner kind, in their order of precedence."""
    return render_template("settings/assignment/index.html", rules=svc.list_rules())


def _form(rule: AssignmentRule | None) -> AssignmentRuleForm:
    types = db.session.execute(
        select(OpportunityType).where(OpportunityType.archived.is_(False)).order_by(OpportunityType.name)
    ).scalars()
    channels = db.session.execute(select(Channel).order_by(Channel.name)).scalars()
    return AssignmentRuleForm(obj=rule, types=list(types), channels=list(channels))


def _chosen(form: AssignmentRuleForm, rule: AssignmentRule | None) -> dict[int, str]:
    """The companies ticked and their weights: as posted, else as saved."""
    if request.method == "POST":
        return form.rule_data(request.form).companies
    return {link.company_id: str(link.weight) for link in rule.companies} if rule else {}


def _edit(rule: AssignmentRule | None):
    form = _form(rule)
    if request.method == "GET" and request.args.get("partner_kind") in PARTNER_KINDS:
        form.partner_kind.data = request.args["partner_kind"]  # the kind select asks for its companies
    if form.validate_on_submit():
        try:
            data = form.rule_data(request.form)
            rule = svc.update_rule(rule, data, current_user) if rule else svc.create_rule(data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Assignment criterion saved."), "success")
            return redirect(url_for("settings.assignment_criteria"))
    kind = form.partner_kind.data if form.partner_kind.data in PARTNER_KINDS else "installer"
    ctx = {"form": form, "rule": rule, "companies": svc.companies_for(kind, rule), "chosen": _chosen(form, rule)}
    if request.htmx and request.htmx.target == "rule-companies":
        return render_template("settings/assignment/_companies.html", **ctx)
    status = 422 if request.method == "POST" else 200
    return render_template("settings/assignment/form.html", **ctx), status


@bp.route("/assignment-criteria/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def assignment_rule_create():
    """Create an assignment criterion; errors come back on the form with status 422."""
    return _edit(None)


@bp.route("/assignment-criteria/<int:rule_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def assignment_rule_edit(rule_id: int):
    """Change an assignment criterion's conditions, strategy and companies."""
    return _edit(db.get_or_404(AssignmentRule, rule_id))


@bp.route("/assignment-criteria/<int:rule_id>/activate", methods=["POST"])
@permission_required("settings.manage")
def assignment_rule_activate(rule_id: int):
    """Activate a criterion (refused while another active one has the same conditions)."""
    return _set_active(rule_id, True)


@bp.route("/assignment-criteria/<int:rule_id>/deactivate", methods=["POST"])
@permission_required("settings.manage")
def assignment_rule_deactivate(rule_id: int):
    """Deactivate a criterion: it no longer matches any opportunity."""
    return _set_active(rule_id, False)


def _set_active(rule_id: int, active: bool):
    rule = db.get_or_404(AssignmentRule, rule_id)
    try:
        svc.set_active(rule, active, current_user)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return render_template("settings/assignment/index.html", rules=svc.list_rules()), err.status
    db.session.commit()
    if active:
        flash(_("Assignment criterion activated."), "success")
    else:
        flash(_("Assignment criterion deactivated."), "success")
    return redirect(url_for("settings.assignment_criteria"))


@bp.route("/assignment-criteria/<int:rule_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def assignment_rule_delete(rule_id: int):
    """Delete a criterion; the assignments it made keep their record."""
    svc.delete_rule(db.get_or_404(AssignmentRule, rule_id), current_user)
    db.session.commit()
    flash(_("Assignment criterion deleted."), "success")
    return redirect(url_for("settings.assignment_criteria"))
