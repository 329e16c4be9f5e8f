"""Forms of Settings → Activity types, Locations and Assignment criteria; the services validate the data."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from blueprints.designer.forms import NameForm
from blueprints.settings.forms import optional_int, options
from models.accounts import PARTNER_KINDS
from models.catalog import ASSIGNMENT_STRATEGIES
from services.assignment_rules import RuleData
from services.validation import record_id_or_none


class ActivityTypeForm(NameForm):
    """A name shown where no translation exists for the reader's language, and its translations."""


class LocationForm(NameForm):
    """A location's name and translations, and its address (Settings → Locations)."""

    address = StringField(_l("Address"), render_kw={"maxlength": 300, "autocomplete": "off"},
                          description=_l("Shown with the activities scheduled there, e.g. for the calendar."))


class AssignmentRuleForm(FlaskForm):
    """The criterion's conditions and strategy; the companies and weights come as `company` and
    `weight-<id>` fields, read by `rule_data`."""

    partner_kind = SelectField(_l("Partner kind"), choices=options(PARTNER_KINDS), validate_choice=False)
    type_id = SelectField(_l("Opportunity type"), coerce=optional_int, validate_choice=False)
    channel_id = SelectField(_l("Channel"), coerce=optional_int, validate_choice=False)
    province = StringField(_l("Province"), render_kw={"maxlength": 60, "autocomplete": "off"},
                           description=_l("Empty: any province."))
    postal_prefix = StringField(_l("Postal-code prefix"), render_kw={"maxlength": 10, "autocomplete": "off"},
                                description=_l("Postal codes starting with it, e.g. 20 or 201. Empty: any."))
    strategy = SelectField(_l("Strategy"), choices=options(ASSIGNMENT_STRATEGIES), validate_choice=False)
    active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, types=(), channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.type_id.choices = options({t.id: t.label for t in types}, _l("Any type"))
        self.channel_id.choices = options({c.id: c.label for c in channels}, _l("Any channel"))

    def rule_data(self, formdata) -> RuleData:
        """The form's data as services.assignment_rules expects it."""
        companies = {}
        for raw in formdata.getlist("company"):
            company_id = record_id_or_none(raw)
            if company_id is not None:
                companies[company_id] = formdata.get(f"weight-{raw}", "1")
        return RuleData(partner_kind=self.partner_kind.data, type_id=self.type_id.data,
                        channel_id=self.channel_id.data, province=self.province.data or "",
                        postal_prefix=self.postal_prefix.data or "", strategy=self.strategy.data,
                        active=bool(self.active.data), companies=companies)
