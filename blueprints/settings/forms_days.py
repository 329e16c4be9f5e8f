"""Forms of Settings → Holidays and of the absences (a user's, and one's own); the services validate."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from blueprints.designer.forms import NameForm
from blueprints.fields import LocaleDateField
from blueprints.settings.forms import options

COUNTRIES = {"IT": _l("Italy"), "ES": _l("Spain")}


class HolidayForm(NameForm):
    """A holiday: its date, name (with translations), regions and whether it repeats every year."""

    day = LocaleDateField(_l("Date"))
    region = StringField(_l("Region"), render_kw={"maxlength": 200, "autocomplete": "off"},
                         description=_l("Empty: everywhere. Else provinces or regions separated by commas, "
                                        "matched against the opportunity's province, e.g. “MI, TO” or “M”."))
    recurring = BooleanField(_l("Every year on this day and month"))


class NationalForm(FlaskForm):
    """A country's national holidays for a year, added at once."""

    country = SelectField(_l("Country"), choices=options(COUNTRIES), validate_choice=False)
    year = StringField(_l("Year"), render_kw={"inputmode": "numeric", "maxlength": 4, "autocomplete": "off"})
    region = StringField(_l("Region"), render_kw={"maxlength": 200, "autocomplete": "off"},
                         description=_l("Empty: everywhere."))


class AbsenceForm(FlaskForm):
    """An absence: first and last day (both included) and a note."""

    starts_on = LocaleDateField(_l("From"))
    ends_on = LocaleDateField(_l("To"))
    note = StringField(_l("Note"), render_kw={"maxlength": 300, "autocomplete": "off"},
                       description=_l("Optional, e.g. “Holiday” or “Training course”."))
