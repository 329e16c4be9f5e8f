"""Settings → Holidays (issue 14 item 9): the company calendar that working-hours scheduling skips."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_days import COUNTRIES, HolidayForm, NationalForm
from extensions import db
from models import Holiday
from models.base import utcnow
from services import holidays as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def _year() -> int:
    """The year the list shows: ?year= when sensible, else this year."""
    year = request.args.get("year", type=int)
    return year if year is not None and 1900 <= year <= 2200 else utcnow().year


def _index(form: HolidayForm | None = None, national: NationalForm | None = None, status: int = 200):
    year = _year()
    return render_template("settings/holidays/index.html", form=form or HolidayForm(), year=year,
                           national=national or NationalForm(prefix="national", year=str(year)), rows=svc.list_holidays(year),
                           countries=COUNTRIES), status


@bp.route("/holidays")
@permission_required("settings.manage")
def holidays():
    """The year's holidays (recurring ones every year), a form to add one and one to add national holidays."""
    return _index()


@bp.route("/holidays/new", methods=["POST"])
@permission_required("settings.manage")
def holiday_create():
    """Add a holiday; errors come back on the list's form with status 422."""
    form = HolidayForm()
    if form.validate_on_submit():
        try:
            created = svc.create_holiday(form.day.data, form.name.data, form.translations(), form.region.data,
                                         form.recurring.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Holiday %(name)s added.", name=created.label), "success")
            return redirect(url_for("settings.holidays", year=created.day.year))
    return _index(form=form, status=422)


@bp.route("/holidays/national", methods=["POST"])
@permission_required("settings.manage")
def holiday_national():
    """Add a country's national holidays for a year (those already there are kept)."""
    form = NationalForm(prefix="national")  # its fields' ids differ from the holiday form's on the same page
    if form.validate_on_submit():
        year = (form.year.data or "").strip()
        try:
            if not (year.isascii() and year.isdigit()):
                raise InvalidData({"year": _("Enter a year between %(low)d and %(high)d.", low=1900, high=2200)})
            added = svc.add_national(form.country.data, int(year), form.region.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(ngettext("%(num)d holiday added.", "%(num)d holidays added.", added), "success")
            return redirect(url_for("settings.holidays", year=int(year)))
    return _index(national=form, status=422)


@bp.route("/holidays/<int:holiday_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def holiday_edit(holiday_id: int):
    """Change a holiday's date, names, regions or recurrence."""
    holiday = db.get_or_404(Holiday, holiday_id)
    form = HolidayForm()
    if request.method == "GET":
        form.fill_names(holiday)
        form.day.data, form.region.data, form.recurring.data = holiday.day, holiday.region or "", holiday.recurring
    elif form.validate_on_submit():
        try:
            svc.update_holiday(holiday, form.day.data, form.name.data, form.translations(), form.region.data,
                               form.recurring.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Holiday %(name)s saved.", name=holiday.label), "success")
            return redirect(url_for("settings.holidays", year=holiday.day.year))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/holidays/form.html", form=form, holiday=holiday), status


@bp.route("/holidays/<int:holiday_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def holiday_delete(holiday_id: int):
    """Remove a holiday; due times already computed stay as they are."""
    holiday = db.get_or_404(Holiday, holiday_id)
    name, year = holiday.label, holiday.day.year
    svc.delete_holiday(holiday, current_user)
    db.session.commit()
    flash(_("Holiday %(name)s deleted.", name=name), "success")
    return redirect(url_for("settings.holidays", year=year))
