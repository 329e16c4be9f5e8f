from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from models.accounts import LANGUAGE_NAMES


class CustomerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    language = SelectField(_l("Language for emails"), choices=dict(LANGUAGE_NAMES))
    tax_code = StringField(_l("Tax code"), validators=[Optional(), Length(max=32)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    province = StringField(_l("Province"), validators=[Optional(), Length(max=60)])
