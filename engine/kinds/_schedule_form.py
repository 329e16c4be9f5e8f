"""The config form of M5 "Schedule activity" (engine.kinds.schedule_activity): its fields, their checks
and the choices they offer, kept apart from the kind's execution."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FileField,
    Form,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, StopValidation, ValidationError

from engine import uploads
from engine.kinds import _refs
from engine.kinds.base import RefField, RefsField, check_placeholders, options
from engine.kinds.send_email import internal_users
from extensions import db
from models import ActivityType
from services.colours import COLOURS, DEFAULT_COLOUR

UNITS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
MAX_DUE_MINUTES = 365 * 1440  # a year ahead at most, as a delayed action
MAX_DURATION = 24 * 60
RESPONSIBLE = {"owner": _l("The opportunity's responsible user"), "user": _l("A chosen user")}
ATTACHMENT = {"none": _l("No attachment"), "upload": _l("A file uploaded here"),
              "report": _l("A report template as PDF")}
# Characters a URL keeps as they are; anything else in a filled-in link is percent-encoded.
URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def web_link_problem(link: str) -> bool:
    """Whether a link is not an http(s) address with a host (no spaces or control characters)."""
    parts = urlsplit(link)
    return parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(
        c.isspace() or ord(c) < 32 for c in link)


def _choice(choices: dict, message):
    def check(form, field) -> None:
        if field.data not in choices:
            raise StopValidation(str(message))
    return check


def _whole_number(low: int, high_of, message):
    """The field holds a whole number from low to high_of(form) (a callable: the bound may hang on the unit)."""
    def check(form, field) -> None:
        raw = str(field.data if field.data is not None else "").strip()
        if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high_of(form):
            raise StopValidation(str(message) % {"min": low, "max": high_of(form)})
    return check


def _due_max(form) -> int:
    return MAX_DUE_MINUTES // UNIT_MINUTES.get(form.due_unit.data, 1440)


def _link(form, field) -> None:
    """A link without placeholders must be a web address now; one with placeholders is checked again
    after they are filled in, but may not start with another scheme (javascript:, data:…)."""
    link = (field.data or "").strip()
    if not link:
        return
    scheme = _SCHEME.match(link)
    if "{{" not in link and "{%" not in link:
        if web_link_problem(link):
            raise StopValidation(str(_l("The link must be a web address starting with http:// or https://.")))
    elif scheme and scheme.group(1).lower() not in ("http", "https"):
        raise StopValidation(str(_l("The link must be a web address starting with http:// or https://.")))


class ScheduleForm(Form):
    activity_type_id = RefField(
        _l("Activity type"),
        required_message=_l("Choose an activity type."),
        missing_message=_l("The chosen activity type does not exist or is not active."),
    )
    subject = StringField(
        _l("Subject"), render_kw={"maxlength": 200, "autocomplete": "off"},
        validators=[Length(min=1, max=200, message=_l("Enter a subject of at most 200 characters.")),
                    check_placeholders],
        description=_l("Placeholders such as {{ client.name }} may be used."))
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=2000, message=_l("At most %(max)d characters.")), check_placeholders],
        description=_l("Placeholders such as {{ opportunity.name }}, {{ client.name }} and {{ client.address }} "
                       "may be used, as in email templates."))
    due_amount = StringField(
        _l("Due"), default="1", render_kw={"inputmode": "numeric", "size": 5, "autocomplete": "off"},
        validators=[_whole_number(0, _due_max, _l("The due time must be a whole number from %(min)d to "
                                                   "%(max)d (at most a year after the action runs)."))])
    due_unit = SelectField(_l("Unit"), choices=options(UNITS), default="days", validate_choice=False,
                           validators=[_choice(UNITS, _l("Choose minutes, hours or days."))])
    due_working_hours = BooleanField(_l("Respect the responsible user's working hours"), default=True)
    duration_minutes = StringField(
        _l("Duration (minutes)"), default="30", render_kw={"inputmode": "numeric", "size": 5, "autocomplete": "off"},
        validators=[_whole_number(1, lambda form: MAX_DURATION,
                                  _l("The duration must be a whole number of minutes from %(min)d to %(max)d."))])
    responsible = RadioField(_l("Responsible"), choices=options(RESPONSIBLE), default="owner", validate_choice=False,
                             validators=[_choice(RESPONSIBLE, _l("Choose who is responsible."))])
    responsible_user_id = RefField(_l("Chosen user"),
                                   missing_message=_l("The chosen user does not exist or is not active."))
    colour = RadioField(_l("Colour"), choices=options(COLOURS), default=DEFAULT_COLOUR, validate_choice=False,
                        validators=[_choice(COLOURS, _l("Choose one of the colours."))])
    in_calendar = BooleanField(_l("Add to calendar"), default=True)
    include_client = BooleanField(_l("Add the client as a participant"))
    invitee_ids = RefsField(_l("Invite users"), missing_message=_l("One of the chosen users does not exist any more."))
    address = StringField(
        _l("Address"), render_kw={"maxlength": 300, "autocomplete": "off"},
        validators=[Length(max=300, message=_l("At most %(max)d characters.")), check_placeholders],
        description=_l("Where the meeting takes place if not in the office, e.g. {{ client.address }}, "
                       "{{ client.city }}."))
    location_id = RefField(_l("Location"),
                           missing_message=_l("The chosen location does not exist or is not active."))
    location_text = StringField(
        _l("Other location"), render_kw={"maxlength": 200, "autocomplete": "off"},
        validators=[Length(max=200, message=_l("At most %(max)d characters."))],
        description=_l("Or write a place not in Settings → Locations."))
    link = StringField(
        _l("Link"), render_kw={"maxlength": 500, "autocomplete": "off", "inputmode": "url"},
        validators=[Length(max=500, message=_l("At most %(max)d characters.")), check_placeholders, _link],
        description=_l("A web address, e.g. a video call; placeholders may be used. Only http:// and https:// "
                       "addresses are accepted."))
    attachment = RadioField(_l("Attachment"), choices=options(ATTACHMENT), default="none", validate_choice=False,
                            validators=[_choice(ATTACHMENT, _l("Choose an attachment or none."))])
    attachment_file = FileField(_l("File to attach"), render_kw={"accept": ",".join(f".{ext}" for ext in uploads.TYPES)})
    attachment_upload = HiddenField()
    report_template_id = _refs.report_template_field()
    auto_complete = BooleanField(_l("Complete automatically when the opportunity moves to another substate"),
                                 default=True)

    def validate_attachment_file(self, field) -> None:
        """A file chosen now must be of an allowed type and size; it is kept once the action is saved."""
        storage = field.data
        self.upload = None
        if self.attachment.data != "upload" or not getattr(storage, "filename", None):
            return
        try:
            self.upload = uploads.check(storage.filename, uploads.read_stream(storage))
        except uploads.UploadRefused as err:
            raise ValidationError(str(err)) from None

    def validate_report_template_id(self, field) -> None:
        if self.attachment.data == "report" and field.data is None:
            raise StopValidation(str(_l("Choose a report template.")))

    def validate_responsible_user_id(self, field) -> None:
        if self.responsible.data == "user" and field.data is None:
            raise StopValidation(str(_l("Choose the responsible user.")))

    def validate_location_text(self, field) -> None:
        if (field.data or "").strip() and self.location_id.data is not None:
            raise ValidationError(str(_l("Choose a location from the list or write one, not both.")))


def fill(form: ScheduleForm) -> None:
    """Offer the active activity types, internal users, active locations and report templates."""
    from services.locations import active_locations  # services.flow reads the kinds registry

    types = db.session.execute(
        select(ActivityType).where(ActivityType.active.is_(True)).order_by(ActivityType.name)).scalars()
    form.activity_type_id.set_records((t.id, t.label) for t in types)
    users = internal_users()
    form.responsible_user_id.set_records(users)
    form.invitee_ids.choices = options(users)
    form.location_id.set_records((loc.id, loc.label) for loc in active_locations())
    _refs.fill_report_template(form.report_template_id)
    # The report template is required only for a report attachment (validate_report_template_id).
    form.report_template_id.required_message = None
    # The file already kept for this action (edit form): named beside the file input.
    name = uploads.name_of(form.attachment_upload.data)
    if name:
        form.attachment_file.description = _l("Kept: %(name)s. Choose another file to replace it.", name=name)
