"""T1 An external event arrives: when an external source's signed event about an opportunity (POST
/hooks/<source>, services.webhooks) has the chosen type and every condition on its JSON body holds, open
this substate. The body's contract is in docs/webhooks-inbound.md; the conditions in payload_conditions."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import select
from wtforms import Form, SelectField, StringField
from wtforms.validators import StopValidation

from engine.kinds.base import BLANK, Lookup, options, quoted
from engine.trigger_types import firing
from engine.trigger_types import payload_conditions as pc
from engine.trigger_types.base import TriggerType, allow_back_field, as_user_field, name_field
from extensions import db
from models import ExternalSource
from services import events

TYPE_MAX = 100
EVENT_TYPE = re.compile(rf"^\S{{1,{TYPE_MAX}}}$")
ROW_FIELDS = ("path", "op", "value")


def source_choices(keep: str | None = None) -> list[tuple[str, str]]:
    """The external sources by name (and the one already chosen, deleted since)."""
    pairs = [(s.name, s.label if s.label == s.name else f"{s.label} ({s.name})")
             for s in db.session.execute(select(ExternalSource).order_by(ExternalSource.name)).scalars()]
    if keep and keep not in {name for name, _label in pairs}:
        pairs.append((keep, keep))
    return pairs


class SourceSelect(SelectField):
    def pre_validate(self, form) -> None:
        if not self.data or self.data not in {value for value, _label, *_rest in self.iter_choices()}:
            raise StopValidation(str(_l("Choose the external source that sends the event.")))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _row_fields() -> dict:
    """Path, operator and value for each of the ROWS condition rows: c1_path, c1_op, c1_value, …"""
    fields = {}
    for n in range(1, pc.ROWS + 1):
        fields[f"c{n}_path"] = StringField(
            _l("Path %(n)d", n=n), filters=[_strip],
            render_kw={"maxlength": pc.PATH_MAX, "autocomplete": "off", "placeholder": "data.status"})
        fields[f"c{n}_op"] = SelectField(_l("Operator %(n)d", n=n),
                                         choices=options([BLANK, *pc.OPERATORS.items()]), validate_choice=False)
        fields[f"c{n}_value"] = StringField(_l("Value %(n)d", n=n), render_kw={"maxlength": pc.VALUE_MAX,
                                                                                "autocomplete": "off"})
    return fields


class ExternalEvent(TriggerType):
    key = "external_event"
    help = _l("Opens this substate when an external source (Settings › External sources) sends an event "
              "about the opportunity, e.g. “payment.received” from the accounting system, and every "
              "condition on the event's data holds.")

    @property
    def label(self) -> str:
        return pgettext("trigger type", "An external event arrives")

    ConfigForm = type("ConfigForm", (Form,), {
        "name": name_field(),
        "source": SourceSelect(_l("External source")),
        "event_type": StringField(
            _l("Event type"), filters=[_strip],
            render_kw={"maxlength": TYPE_MAX, "autocomplete": "off", "placeholder": "payment.received"},
            description=_l("The event's “type”, exactly as the source sends it (capitals count).")),
        **_row_fields(),
        "as_user_id": as_user_field(),
        "allow_back": allow_back_field(),
    })

    sections = [
        (_l("When"), ["name", "source", "event_type"]),
        (_l("Conditions on the event's data (all must hold)"),
         [tuple(f"c{n}_{part}" for part in ROW_FIELDS) for n in range(1, pc.ROWS + 1)]),
        (_l("Then open this substate"), ["as_user_id", "allow_back"]),
    ]

    def build_form(self, substate, formdata=None, data=None, saved=None) -> Form:
        """A saved config's conditions list fills the rows."""
        data = dict(data or {})
        for n, row in enumerate(data.pop("conditions", None) or [], start=1):
            if n <= pc.ROWS and isinstance(row, dict):
                data.update({f"c{n}_{part}": row.get(part) for part in ROW_FIELDS})
        return super().build_form(substate, formdata=formdata, data=data, saved=saved)

    def fill(self, form, substate, saved: dict) -> None:
        form.source.choices = options([BLANK, *source_choices(saved.get("source"))])

    def check(self, form, substate) -> dict[str, str]:
        errors = {}
        if not EVENT_TYPE.match(form.event_type.data or ""):
            errors["event_type"] = str(_l("Enter the event type: up to %(max)d characters, no spaces.", max=TYPE_MAX))
        for n in range(1, pc.ROWS + 1):
            path, op, value = (form[f"c{n}_{part}"].data or "" for part in ROW_FIELDS)
            if not path and not op and not value:
                continue
            if not pc.PATH.match(path) or len(path) > pc.PATH_MAX:
                errors[f"c{n}_path"] = str(_l("Enter a path of names separated by dots, e.g. data.status "
                                              "(at most %(depth)d parts).", depth=pc.PATH_DEPTH))
            if op not in pc.OPERATORS:
                errors[f"c{n}_op"] = str(_l("Choose how to compare."))
            elif len(value) > pc.VALUE_MAX:
                errors[f"c{n}_value"] = str(_l("At most %(max)d characters.", max=pc.VALUE_MAX))
            elif op in ("gt", "lt") and pc.number(value) is None:
                errors[f"c{n}_value"] = str(_l("Enter a number, e.g. 1000 or 12.5."))
            elif op in ("eq", "ne", "contains") and value == "":
                errors[f"c{n}_value"] = str(_l("Enter the value to compare with."))
        return errors

    def config_of(self, form) -> dict:
        conditions = []
        for n in range(1, pc.ROWS + 1):
            path, op, value = (form[f"c{n}_{part}"].data or "" for part in ROW_FIELDS)
            if path and op:
                conditions.append({"path": path, "op": op, "value": "" if op == "exists" else value})
        return {"source": form.source.data, "event_type": form.event_type.data, "conditions": conditions}

    def default_name(self, config: dict, substate) -> str:
        return f"{config.get('event_type') or self.label} → {substate.label}"

    def summary(self, config: dict, lookup: Lookup) -> str:
        line = str(_l("When %(source)s sends %(type)s", source=quoted(config.get("source")),
                      type=quoted(config.get("event_type"))))
        conditions = [pc.describe(c) for c in config.get("conditions") or [] if isinstance(c, dict)]
        if conditions:
            word = pgettext("between conditions", "and")
            joined = f" {word} ".join(conditions)
            line += " " + str(_l("with %(conditions)s", conditions=joined))
        return line + " → " + str(_l("open this substate"))

    def map_sources(self, config: dict, task_makers: set[int]) -> list:
        """From the source's node in the map's left column (services.flowmap)."""
        return [f"external:{config['source']}"] if config.get("source") else []

    def edge_label(self, config: dict) -> str:
        return str(config.get("event_type") or self.label)

    def subscribe(self) -> None:
        events.external_event_received.connect(_on_external_event, weak=False)


def _on_external_event(opp, event: events.ExternalEvent) -> None:
    """Fire the opportunity's triggers waiting for this source's event type whose conditions hold."""
    for trigger in firing.enabled_triggers(TRIGGER_TYPE.key, opp.type_id):
        config = trigger.config or {}
        if config.get("source") != event.source or config.get("event_type") != event.type:
            continue
        if not pc.all_hold(event.payload, config.get("conditions")):
            continue
        firing.fire(trigger, TRIGGER_TYPE.record_kind, opp, at=event.received_at, user=None, chain=event.chain,
                    result={"source": event.source, "event_type": event.type, "event_id": event.event_id})


TRIGGER_TYPE = ExternalEvent()
