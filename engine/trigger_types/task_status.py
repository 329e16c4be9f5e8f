"""T1 Task status ("Controllare lo stato degli incarichi", seed 002): when a task of the opportunity reaches
a status and the conditions on the task hold, open this substate."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, StopValidation

from engine.kinds.base import BLANK, Lookup, RefField, options, quoted
from engine.trigger_types import firing
from engine.trigger_types.base import (
    TriggerType,
    allow_back_field,
    as_user_field,
    name_field,
    substate_groups,
    user_pairs,
)
from models import Substate, User
from models.tasks import TASK_STATUSES
from services import events

# "Task completed → Installation scheduled": the default name, and the flow map's edge label.
REACHED = {
    "todo": _l("Task back to do"),
    "in_progress": _l("Task in progress"),
    "completed": _l("Task completed"),
    "deferred": _l("Task deferred"),
}
WORDS_MAX = 200


class StatusField(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=options([BLANK, *TASK_STATUSES.items()]), validate_choice=False,
                         default="completed", **kwargs)

    def pre_validate(self, form) -> None:
        if self.data not in TASK_STATUSES:
            raise StopValidation(str(_l("Choose the task status that sets the trigger off.")))


def title_words(config: dict) -> list[str]:
    return [w.casefold() for w in (config.get("title_words") or "").split()]


class TaskStatus(TriggerType):
    key = "task_status"
    help = _l("Opens this substate when a task of the opportunity reaches a status, e.g. when the task "
              "“Prepare the project” is completed.")

    @property
    def label(self) -> str:
        """In context: a tasks page may head a column "Task status"; the seed names this trigger otherwise."""
        return pgettext("trigger type", "Task status")

    class ConfigForm(Form):
        name = name_field()
        status = StatusField(_l("When a task's status becomes"))
        title_words = StringField(
            _l("Title contains the words"),
            validators=[Length(max=WORDS_MAX, message=_l("At most %(max)d characters."))],
            render_kw={"maxlength": WORDS_MAX, "autocomplete": "off"},
            description=_l("Every word must appear in the task's title, in capitals or not. Empty: any title."))
        responsible_id = RefField(_l("Responsible"),
                                  missing_message=_l("The chosen user does not exist or is not active."),
                                  description=_l("Empty: whoever is responsible."))
        created_in_substate_id = RefField(
            _l("Created by automation in substate"),
            missing_message=_l("The chosen substate is not part of this opportunity type."),
            description=_l("Only tasks an automatic action created in this substate. Empty: any task."))
        as_user_id = as_user_field()
        allow_back = allow_back_field()

    sections = [
        (_l("When"), ["name", "status"]),
        (_l("Conditions on the task"), ["title_words", "responsible_id", "created_in_substate_id"]),
        (_l("Then open this substate"), ["as_user_id", "allow_back"]),
    ]

    def fill(self, form, substate, saved: dict) -> None:
        form.responsible_id.set_records(user_pairs(saved.get("responsible_id")))
        form.created_in_substate_id.set_records(None, groups=substate_groups(
            substate, saved.get("created_in_substate_id")))
        form.name.render_kw = {**form.name.render_kw, "placeholder": self.default_name(
            {"status": form.status.data or "completed"}, substate)}

    def config_of(self, form) -> dict:
        return {"status": form.status.data, "title_words": " ".join((form.title_words.data or "").split()),
                "responsible_id": form.responsible_id.data,
                "created_in_substate_id": form.created_in_substate_id.data}

    def default_name(self, config: dict, substate) -> str:
        return f"{REACHED.get(config.get('status'), self.label)} → {substate.label}"

    def summary(self, config: dict, lookup: Lookup) -> str:
        status = TASK_STATUSES.get(config.get("status"), config.get("status"))
        parts = [str(_l("A task becomes “%(status)s”", status=status))]
        if config.get("title_words"):
            parts.append(str(_l("title contains “%(words)s”", words=config["title_words"])))
        if config.get("responsible_id"):
            parts.append(str(_l("responsible %(name)s", name=quoted(lookup.name(User, config["responsible_id"])))))
        if config.get("created_in_substate_id"):
            name = lookup.name(Substate, config["created_in_substate_id"], whole_table=False)
            parts.append(str(_l("created by automation in %(name)s", name=quoted(name))))
        return " · ".join(parts)

    def substate_refs(self, config: dict) -> list[int]:
        return [config["created_in_substate_id"]] if config.get("created_in_substate_id") else []

    def map_sources(self, config: dict, task_makers: set[int]) -> list[int]:
        """From the substate its tasks must be created in; without that condition, from every substate
        whose actions create tasks (a task a person creates is no automation)."""
        if config.get("created_in_substate_id"):
            return [config["created_in_substate_id"]]
        return sorted(task_makers)

    def edge_label(self, config: dict) -> str:
        return str(REACHED.get(config.get("status"), self.label)).lower()

    def matches(self, config: dict, task) -> bool:
        """The conditions on the task: title words (all, any case), responsible, created in substate X."""
        title = (task.title or "").casefold()
        if not all(word in title for word in title_words(config)):
            return False
        if config.get("responsible_id") and task.responsible_id != config["responsible_id"]:
            return False
        wanted = config.get("created_in_substate_id")
        return not wanted or (task.by_automation and task.substate_id == wanted)

    def subscribe(self) -> None:
        events.task_status_changed.connect(_on_task_status_changed, weak=False)


def _on_task_status_changed(task, change: events.TaskChange) -> None:
    """Fire the opportunity's triggers waiting for this status whose conditions the task meets, once each
    for this status change, in the change's transaction."""
    opp = task.opportunity
    for trigger in firing.enabled_triggers(TRIGGER_TYPE.key, opp.type_id):
        config = trigger.config or {}
        if config.get("status") != change.new_status or not TRIGGER_TYPE.matches(config, task):
            continue  # not this trigger's event: nothing to record
        firing.fire(trigger, TRIGGER_TYPE.record_kind, opp, at=change.at, user=change.user, chain=change.chain,
                    result={"task_id": task.id, "change_id": change.change_id})


TRIGGER_TYPE = TaskStatus()
