from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from blueprints.fields import LocaleDateField, LocaleDecimalField
from services.tasks import TITLE_MAX
from services.validation import optional_record_id, record_id


class OpportunityForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    type_id = SelectField(_l("Opportunity type"), coerce=optional_record_id, validators=[DataRequired()])
    channel_id = SelectField(_l("Channel"), coerce=optional_record_id, validators=[DataRequired()])
    customer_id = SelectField(_l("Customer"), coerce=optional_record_id, validators=[DataRequired()])
    owner_id = SelectField(_l("Responsible user"), coerce=record_id, validators=[Optional()])
    amount = LocaleDecimalField(_l("Amount"), places=2, validators=[Optional(), NumberRange(min=0, max=9_999_999_999)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=60)])
    # The system fields process automations use (seed 003): saved through services.field_values.
    company_name = StringField(_l("Company name"), validators=[Optional(), Length(max=160)])
    contact_person = StringField(_l("Contact person"), validators=[Optional(), Length(max=160)])
    acquisition_source = StringField(_l("Acquisition source"), validators=[Optional(), Length(max=120)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])

    def data_for_service(self) -> dict:
        data = {k: v for k, v in self.data.items() if k != "csrf_token"}
        data["owner_id"] = data["owner_id"] or None
        return data


class LinkedTaskForm(FlaskForm):
    """"Add activity" under a substate (T3, seed 003): a task with a title, responsible and deadline day.
    Prefixed per substate, as every open substate of the panel has its own form."""

    class Meta:
        csrf = False  # the page's token is checked by CSRFProtect for every post; one hidden input per form

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    responsible_id = SelectField(_l("Responsible user"), coerce=record_id)
    deadline_date = LocaleDateField(_l("Deadline"), validators=[Optional()])
