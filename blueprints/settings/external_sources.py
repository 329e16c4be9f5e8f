"""Settings → External sources (SPEC S10): sources with their webhook secret, the actions their events
run, and the electronic-signature provider. Permission settings.manage (403 others, 404 partners)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField

from blueprints.settings import bp
from blueprints.settings.forms import options
from extensions import db
from models import ExternalSource, ExternalSourceAction
from models.signatures import EVENTS
from services import ServiceError
from services import external_sources as svc
from services import flow as flow_svc
from services.access import permission_required
from services.validation import InvalidData, record_id, show_on_form


class SourceForm(FlaskForm):
    name = StringField(_l("Name in the URL"), render_kw={"maxlength": 60, "autocomplete": "off",
                                                        "placeholder": "esign"})
    label = StringField(_l("Label"), render_kw={"maxlength": 120})


class ActionForm(FlaskForm):
    service_fields = {}
    name = StringField(_l("Name"), render_kw={"maxlength": 120})
    source_name = SelectField(_l("External source"), validate_choice=False)
    event = SelectField(_l("Event"), choices=options(EVENTS), validate_choice=False)
    close_ids = SelectMultipleField(_l("Close these substates"), coerce=record_id, validate_choice=False)
    open_ids = SelectMultipleField(_l("Then open these substates"), coerce=record_id, validate_choice=False)

    def fill(self) -> "ActionForm":
        sources = db.session.execute(db.select(ExternalSource).order_by(ExternalSource.name)).scalars()
        self.source_name.choices = [(s.name, s.label or s.name) for s in sources]
        # Archived substates stay listed: an action saved with one must not lose it when edited.
        self.close_ids.choices = self.open_ids.choices = flow_svc.substate_groups()
        return self

    def data_of(self) -> svc.ActionData:
        return svc.ActionData(self.name.data or "", self.source_name.data or "", self.event.data or "",
                              list(self.close_ids.data or []), list(self.open_ids.data or []))


@bp.route("/external-sources")
@permission_required("settings.manage")
def external_source_actions():
    """External sources with their webhook address and the actions their events run."""
    return render_template("settings/external_sources/index.html", rows=svc.list_sources(), events=EVENTS)


@bp.route("/external-sources/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def external_source_new():
    """Create a source; its secret is shown once, on the page that answers."""
    form = SourceForm()
    if form.validate_on_submit():
        try:
            source, secret = svc.create_source(form.name.data, form.label.data)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            return render_template("settings/external_sources/secret.html", source=source, secret=secret)
    status = 422 if request.method == "POST" else 200
    return render_template("settings/external_sources/source_form.html", form=form), status


@bp.route("/external-sources/<int:source_id>/secret", methods=["POST"])
@permission_required("settings.manage")
def external_source_secret(source_id: int):
    """Regenerate a source's secret (the old one stops working); shown once."""
    source = db.get_or_404(ExternalSource, source_id)
    secret = svc.regenerate_secret(source)
    db.session.commit()
    return render_template("settings/external_sources/secret.html", source=source, secret=secret)


@bp.route("/external-sources/<int:source_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def external_source_delete(source_id: int):
    """Delete a source no action uses."""
    return _delete(db.get_or_404(ExternalSource, source_id), svc.delete_source, _("Source deleted."))


@bp.route("/external-sources/actions/new", methods=["GET", "POST"])
@bp.route("/external-sources/actions/<int:action_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def external_action_edit(action_id: int | None = None):
    """Create or edit an external-source action; refused data comes back with status 422."""
    action = db.get_or_404(ExternalSourceAction, action_id) if action_id else None
    form = ActionForm(obj=action if request.method == "GET" else None).fill()
    if action is not None and request.method == "GET":
        form.close_ids.data = [s["substate_id"] for s in action.actions or [] if s.get("op") == "close"]
        form.open_ids.data = [s["substate_id"] for s in action.actions or [] if s.get("op") == "open"]
    if form.validate_on_submit():
        try:
            saved = svc.save_action(action, form.data_of())
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("External-source action %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("settings.external_source_actions"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/external_sources/action_form.html", form=form, action=action), status


@bp.route("/external-sources/actions/<int:action_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def external_action_delete(action_id: int):
    """Delete an external-source action no automatic action uses."""
    return _delete(db.get_or_404(ExternalSourceAction, action_id), svc.delete_action, _("Action deleted."))


def _delete(record, delete, done: str):
    try:
        delete(record)
    except ServiceError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.external_source_actions"))
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("settings.external_source_actions"))


class ProviderForm(FlaskForm):
    provider = SelectField(_l("Provider in use"), validate_choice=False)


@bp.route("/esignature", methods=["GET", "POST"])
@permission_required("settings.manage")
def esignature():
    """The signature providers installed, and the one in use: chosen here (none switches e-signature off)."""
    from engine import signature

    form = ProviderForm()
    form.provider.choices = [("", _("None (electronic signature off)"))] + [
        (key, str(provider.label)) for key, provider in signature.PROVIDERS.items()]
    status = 200
    if form.validate_on_submit():
        try:
            svc.choose_provider(form.provider.data or "")
        except InvalidData as err:
            show_on_form(form, err)
            status = 422
        else:
            db.session.commit()
            flash(_("Signature provider saved."), "success")
            return redirect(url_for("settings.esignature"))
    elif request.method == "POST":
        status = 400
    else:
        form.provider.data = signature.active_key()
    return render_template("settings/external_sources/esignature.html", form=form, providers=signature.PROVIDERS,
                           active=signature.active_key()), status
