"""T1 Field filled or changed: when a field of the opportunity (a custom field, or company name, contact person,
acquisition source) is filled, or changes while filled, open this substate — whatever path set the field:
the page, an import, the API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import select
from wtforms import Form, SelectField
from wtforms.validators import StopValidation

from engine.kinds.base import BLANK, Lookup, options, quoted
from engine.trigger_types import firing
from engine.trigger_types.base import TriggerType, allow_back_field, as_user_field, name_field
from extensions import db
from models import CustomField
from services import events
from services import field_values as fv

WHEN = {
    "filled": _l("Is filled (from empty)"),
    "changed": _l("Is filled or changes"),
}


def field_choices(type_id: int, keep: str | None = None) -> list[tuple[str, str]]:
    """System fields, then the live custom fields of this opportunity type (and the one already chosen)."""
    pairs = [(f"system:{key}", str(label)) for key, (label, _max) in fv.SYSTEM_FIELDS.items()]
    for field in db.session.execute(select(CustomField).order_by(CustomField.position, CustomField.id)).scalars():
        ref = f"custom:{field.id}"
        if (not field.archived and field.applies_to(type_id)) or ref == keep:
            pairs.append((ref, field.label))
    return pairs


class FieldSelect(SelectField):
    def pre_validate(self, form) -> None:
        if self.data not in {value for value, _label, *_rest in self.iter_choices()} or not self.data:
            raise StopValidation(str(_l("Choose the field that sets the trigger off.")))


class WhenSelect(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=options(list(WHEN.items())), default="filled", validate_choice=False,
                         **kwargs)

    def pre_validate(self, form) -> None:
        if self.data not in WHEN:
            raise StopValidation(str(_l("Choose when the trigger fires.")))


class FieldChanged(TriggerType):
    key = "field"
    help = _l("Opens this substate when a field of the opportunity is filled, e.g. when “Contact person” "
              "is written in.")

    @property
    def label(self) -> str:
        return pgettext("trigger type", "Field filled or changed")

    class ConfigForm(Form):
        name = name_field()
        field = FieldSelect(_l("Field"))
        when = WhenSelect(_l("When the field"))
        as_user_id = as_user_field()
        allow_back = allow_back_field()

    sections = [
        (_l("When"), ["name", "field", "when"]),
        (_l("Then open this substate"), ["as_user_id", "allow_back"]),
    ]

    def fill(self, form, substate, saved: dict) -> None:
        form.field.choices = options([BLANK, *field_choices(substate.state.type_id, saved.get("field"))])

    def config_of(self, form) -> dict:
        return {"field": form.field.data, "when": form.when.data}

    def _field_name(self, config: dict) -> str:
        field = fv.resolve(config.get("field"))
        return field.label if field else str(_l("a deleted field"))

    def default_name(self, config: dict, substate) -> str:
        return f"{self._field_name(config)} → {substate.label}"

    def summary(self, config: dict, lookup: Lookup) -> str:
        name = quoted(self._field_name(config))
        if config.get("when") == "changed":
            return str(_l("%(field)s is filled or changes", field=name))
        return str(_l("%(field)s is filled", field=name))

    def map_sources(self, config: dict, task_makers: set[int]) -> list:
        """From the field's own node on the map (services.flowmap draws fields left of the states)."""
        return [f"field:{config['field']}"] if config.get("field") else []

    def edge_label(self, config: dict) -> str:
        return str(WHEN.get(config.get("when"), WHEN["filled"])).lower()

    def subscribe(self) -> None:
        events.field_changed.connect(_on_field_changed, weak=False)


def _on_field_changed(opp, change: events.FieldChange) -> None:
    """Fire the triggers waiting for this field: on empty → filled, or on any change to a filled value."""
    if not change.is_filled:
        return
    for trigger in firing.enabled_triggers(TRIGGER_TYPE.key, opp.type_id):
        config = trigger.config or {}
        if config.get("field") != change.ref or (config.get("when") != "changed" and change.was_filled):
            continue
        firing.fire(trigger, TRIGGER_TYPE.record_kind, opp, at=change.at, user=change.user, chain=change.chain,
                    result={"field": change.ref, "value": change.shown})


TRIGGER_TYPE = FieldChanged()
