"""Settings forms: users, partner companies, channels."""

from datetime import time
from functools import cache
from zoneinfo import available_timezones

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models.accounts import LANGUAGE_NAMES, PARTNER_KINDS, PERMISSIONS, ROLES
from services.validation import optional_record_id


@cache
def timezone_names() -> list[str]:
    """Every IANA time zone name this machine knows, sorted (not the machine-dependent ones)."""
    return sorted(available_timezones() - {"localtime", "Factory", "posixrules"})


def options(mapping: dict, blank=None) -> list[SelectChoice]:
    """Select options from a {value: label} mapping, optionally after an empty first option."""
    first = [SelectChoice("", blank)] if blank is not None else []
    return first + [SelectChoice(value, label) for value, label in mapping.items()]


def optional_int(value) -> int | None:
    """Coerce a select's id: empty means none; a value that cannot be an id is an invalid choice."""
    return optional_record_id(value)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def blank_none(value) -> str:
    """Coerce a select's value: none shows as the empty choice."""
    return "" if value is None else str(value)


class UserForm(FlaskForm):
    service_fields = {"permissions": "extra_permissions"}

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    # No `required` attribute: every option is a role, and a required select needs an empty first option.
    role = SelectField(_l("Role"), choices=options(ROLES), default="agent", validators=[InputRequired()],
                       render_kw={"required": False})
    company_id = SelectField(_l("Partner company"), coerce=optional_int,
                             description=_l("Required for partner users, empty for everyone else."))
    language = SelectField(_l("Language"), coerce=blank_none, choices=options(LANGUAGE_NAMES, _l("Browser language")))
    supervisor_id = SelectField(_l("Supervisor"), coerce=optional_int)
    timezone = StringField(_l("Time zone"), default="Europe/Rome",
                           validators=[DataRequired(), Length(max=64)], render_kw={"list": "timezones"})
    work_start = TimeField(_l("Working hours from"), default=time(9, 0), validators=[InputRequired()])
    work_end = TimeField(_l("Working hours to"), default=time(18, 0), validators=[InputRequired()])
    work_days = MultiCheckboxField(_l("Working days"), default=list("12345"))
    # Not named "permissions": User.permissions (role + grants) would fill it from obj=user.
    extra_permissions = MultiCheckboxField(_l("Permissions beyond the role"), choices=options(PERMISSIONS))
    active = BooleanField(_l("Active (may log in)"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=128)])

    def __init__(self, *args, companies=(), supervisors=(), new: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.company_id.choices = options({c.id: c.name for c in companies}, "—")
        self.supervisor_id.choices = options({u.id: u.name for u in supervisors}, "—")
        days = get_day_names("wide", locale=get_locale() or "en")
        self.work_days.choices = options({str(i + 1): days[i] for i in range(7)})
        if new:
            self.password.validators = [InputRequired(), Length(min=8, max=128)]
            self.password.flags.required = True
            self.password.description = ""
        else:
            self.password.description = _l("Leave empty to keep the current password.")

    def validate_company_id(self, field) -> None:
        if self.role.data == "partner" and not field.data:
            raise ValidationError(_l("A partner user must belong to a partner company."))
        if self.role.data != "partner" and field.data:
            raise ValidationError(_l("Only partner users belong to a partner company."))

    def validate_timezone(self, field) -> None:
        if (field.data or "").strip() not in timezone_names():
            raise ValidationError(_l("Unknown time zone: use a name such as Europe/Rome."))

    def validate_work_end(self, field) -> None:
        if self.work_start.data and field.data and field.data <= self.work_start.data:
            raise ValidationError(_l("The end of working hours must come after the start."))

    def validate_work_days(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one working day."))

    def service_data(self) -> dict:
        """The form's data as services.users expects it."""
        data = {k: v for k, v in self.data.items() if k != "csrf_token"}
        data["timezone"] = data["timezone"].strip()
        data["work_days"] = "".join(sorted(set(data["work_days"] or ())))
        data["permissions"] = list(data.pop("extra_permissions") or ())
        return data


class PartnerCompanyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    kind = SelectField(_l("Kind"), choices=options(PARTNER_KINDS))
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=60)])
    language = SelectField(_l("Email language"), choices=options(LANGUAGE_NAMES), default="it",
                           description=_l("Automatic emails to the company are written in this language."))
    active = BooleanField(_l("Active"), default=True)

    def service_data(self) -> dict:
        return {k: v for k, v in self.data.items() if k != "csrf_token"}


class ChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
