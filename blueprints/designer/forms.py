"""Designer forms; the services validate the data (one source of rules for routes, jobs and the API)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField

from engine.kinds import all_kinds
from engine.kinds.base import BLANK, RefField, RefsField, options
from models.flow import DELAY_UNITS

GROUP_CHOICES = {"on_open": _l("On open"), "on_close": _l("On close"), "scheduled": _l("Scheduled")}


class NameForm(FlaskForm):
    """A name with its optional translations (shown in each user's language)."""

    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    name_it = StringField(_l("Italian"), render_kw={"maxlength": 120, "lang": "it"})
    name_es = StringField(_l("Spanish"), render_kw={"maxlength": 120, "lang": "es"})
    name_en = StringField(_l("English"), render_kw={"maxlength": 120, "lang": "en"})

    def fill_names(self, obj) -> None:
        """Show a record's name and translations."""
        self.name.data = obj.name
        for lang in ("it", "es", "en"):
            self[f"name_{lang}"].data = (obj.name_i18n or {}).get(lang, "")

    def translations(self) -> dict:
        return {lang: self[f"name_{lang}"].data for lang in ("it", "es", "en")}


class SubstateForm(NameForm):
    partner_can_act = BooleanField(_l("Partner users may open and close it"))


class ActionForm(FlaskForm):
    """The step-by-step form of the seeds: when, which action and its details, channels, Submit."""

    group = RadioField(_l("When"), choices=options(GROUP_CHOICES), validate_choice=False, default="on_open")
    delay_amount = StringField(_l("After"), render_kw={"inputmode": "numeric", "size": 5, "autocomplete": "off"})
    delay_unit = SelectField(_l("Unit"), choices=options(DELAY_UNITS), validate_choice=False, default="days")
    respect_working_hours = BooleanField(_l("Respect working hours"))
    kind = SelectField(_l("Action"), validate_choice=False)
    channel_scope = RadioField(
        _l("Channels"), choices=options([("all", _l("All channels")), ("some", _l("Only these channels"))]),
        validate_choice=False, default="all",
    )
    channels = RefsField(_l("Channels"))

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = options([BLANK] + [(k.key, k.label) for k in all_kinds()])
        self.channels.choices = options((c.id, c.name) for c in channels)

    def fill_action(self, action) -> None:
        """Show a saved action's choices."""
        self.group.data = action.group
        self.delay_amount.data = str(action.delay_amount) if action.delay_amount else ""
        self.delay_unit.data = action.delay_unit or "days"
        self.respect_working_hours.data = action.respect_working_hours
        self.kind.data = action.kind
        self.channels.data = [c.id for c in action.channels]
        self.channel_scope.data = "some" if action.channels else "all"

    def channel_ids(self) -> list[int] | None:
        """None for every channel (the default), else the ones ticked."""
        return list(self.channels.data or []) if self.channel_scope.data == "some" else None


class CopyForm(FlaskForm):
    target = RefField(_l("Copy to substate"))



class TriggerForm(FlaskForm):
    """Step one of "Add trigger": its type; the type's own form follows (engine.trigger_types)."""

    kind = SelectField(_l("Trigger type"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        from engine.trigger_types import all_trigger_types

        super().__init__(*args, **kwargs)
        self.kind.choices = options([BLANK] + [(t.key, t.label) for t in all_trigger_types()])
