"""Settings → Locations (M5): list, create, rename with translations and address, activate/deactivate."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_work import LocationForm
from extensions import db
from models import Location
from services import locations as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def _index(form: LocationForm, status: int = 200):
    return render_template("settings/locations/index.html", form=form, rows=svc.list_locations()), status


@bp.route("/locations")
@permission_required("settings.manage")
def locations():
    """Locations with how many activities are scheduled at each, and a form to add one."""
    return _index(LocationForm())


@bp.route("/locations/new", methods=["POST"])
@permission_required("settings.manage")
def location_create():
    """Create a location; errors come back on the list's form with status 422."""
    form = LocationForm()
    if form.validate_on_submit():
        try:
            created = svc.create_location(form.name.data, form.translations(), form.address.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Location %(name)s created.", name=created.name), "success")
            return redirect(url_for("settings.locations"))
    return _index(form, 422)


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def location_edit(location_id: int):
    """Rename a location, its translations and address."""
    location = db.get_or_404(Location, location_id)
    form = LocationForm()
    if request.method == "GET":
        form.fill_names(location)
        form.address.data = location.address or ""
    elif form.validate_on_submit():
        try:
            svc.update_location(location, form.name.data, form.translations(), form.address.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Location %(name)s saved.", name=location.name), "success")
            return redirect(url_for("settings.locations"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/locations/form.html", form=form, location=location), status


@bp.route("/locations/<int:location_id>/activate", methods=["POST"])
@permission_required("settings.manage")
def location_activate(location_id: int):
    """Activate a location; htmx gets its row back."""
    return _set_active(location_id, True)


@bp.route("/locations/<int:location_id>/deactivate", methods=["POST"])
@permission_required("settings.manage")
def location_deactivate(location_id: int):
    """Deactivate a location (no longer offered to actions); htmx gets its row back."""
    return _set_active(location_id, False)


def _set_active(location_id: int, active: bool):
    location = db.get_or_404(Location, location_id)
    svc.set_active(location, active, current_user)
    db.session.commit()
    if request.htmx:
        return render_template("settings/locations/_row.html", loc=location, used=svc.usage_of(location))
    if active:
        flash(_("Location %(name)s activated.", name=location.name), "success")
    else:
        flash(_("Location %(name)s deactivated.", name=location.name), "success")
    return redirect(url_for("settings.locations"))
