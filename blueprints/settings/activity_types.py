"""Settings → Activity types: list, create, rename with translations, activate/deactivate (SPEC S4)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_work import ActivityTypeForm
from extensions import db
from models import ActivityType
from services import activities as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def _index(form: ActivityTypeForm, status: int = 200):
    return render_template("settings/activity_types/index.html", form=form, rows=svc.list_types()), status


@bp.route("/activity-types")
@permission_required("settings.manage")
def activity_types():
    """Activity types with how many activities use each, and a form to add one."""
    return _index(ActivityTypeForm())


@bp.route("/activity-types/new", methods=["POST"])
@permission_required("settings.manage")
def activity_type_create():
    """Create an activity type; errors come back on the list's form with status 422."""
    form = ActivityTypeForm()
    if form.validate_on_submit():
        try:
            created = svc.create_type(form.name.data, form.translations(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Activity type %(name)s created.", name=created.name), "success")
            return redirect(url_for("settings.activity_types"))
    return _index(form, 422)


@bp.route("/activity-types/<int:type_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def activity_type_edit(type_id: int):
    """Rename an activity type and its translations."""
    activity_type = db.get_or_404(ActivityType, type_id)
    form = ActivityTypeForm()
    if request.method == "GET":
        form.fill_names(activity_type)
    elif form.validate_on_submit():
        try:
            svc.rename_type(activity_type, form.name.data, form.translations(), current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Activity type renamed to %(name)s.", name=activity_type.name), "success")
            return redirect(url_for("settings.activity_types"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/activity_types/form.html", form=form, activity_type=activity_type), status


@bp.route("/activity-types/<int:type_id>/activate", methods=["POST"])
@permission_required("settings.manage")
def activity_type_activate(type_id: int):
    """Activate an activity type; htmx gets its row back."""
    return _set_active(type_id, True)


@bp.route("/activity-types/<int:type_id>/deactivate", methods=["POST"])
@permission_required("settings.manage")
def activity_type_deactivate(type_id: int):
    """Deactivate an activity type (no longer offered to actions); htmx gets its row back."""
    return _set_active(type_id, False)


def _set_active(type_id: int, active: bool):
    activity_type = db.get_or_404(ActivityType, type_id)
    svc.set_type_active(activity_type, active, current_user)
    db.session.commit()
    if request.htmx:
        return render_template("settings/activity_types/_row.html", t=activity_type,
                               used=svc.usage_of(activity_type))
    if active:
        flash(_("Activity type %(name)s activated.", name=activity_type.name), "success")
    else:
        flash(_("Activity type %(name)s deactivated.", name=activity_type.name), "success")
    return redirect(url_for("settings.activity_types"))
