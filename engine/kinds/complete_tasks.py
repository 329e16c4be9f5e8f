"""M4 Complete tasks (seed 002, "Terminare l'incarico"): completes the open tasks that automation created on
this opportunity in the chosen substates (of the chosen opportunity types), and records which it closed.

Each completion goes through services.tasks.change_status with the run's chain, so a trigger listening
for "completed" fires in the run's transaction and the loop guard sees the whole chain."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import Form, SelectMultipleField
from wtforms.validators import StopValidation

from engine.kinds.base import Kind, Lookup, RefsField, options, quoted
from extensions import db
from models import State, Substate, Task
from models.tasks import OPEN_TASK_STATUSES
from services.validation import record_id, record_id_or_none


class SubstatesField(SelectMultipleField):
    """Several substates in one list grouped by opportunity type (optgroups); unknown ids are refused."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label, coerce=record_id, validate_choice=False, render_kw={"size": 8}, **kwargs)
        self.valid_ids: set[int] = set()

    def set_groups(self, groups: dict) -> None:
        self.choices = groups
        self.valid_ids = {i for pairs in groups.values() for i, _label in pairs}

    def process_data(self, value) -> None:
        self.data = [v for v in (record_id_or_none(x) for x in (value or [])) if v is not None]

    def process_formdata(self, valuelist) -> None:
        self.data = [v for v in (record_id_or_none(x) for x in valuelist) if v is not None]

    def pre_validate(self, form) -> None:
        if not self.data:
            raise StopValidation(str(_l("Choose at least one substate.")))
        if any(v not in self.valid_ids for v in self.data):
            raise StopValidation(str(_l("One of the chosen substates does not exist any more.")))


class CompleteTasks(Kind):
    key = "complete_tasks"
    label = _l("Complete tasks")
    help = _l("Completes the open tasks that automatic actions created on this opportunity in the chosen "
              "substates, e.g. “Prepare the project” once the installation is scheduled.")
    # Its substates may be of other types: deleting one of them is refused while this action names it.
    refers_across_types = True

    class ConfigForm(Form):
        type_ids = RefsField(_l("Opportunity types"),
                             missing_message=_l("One of the chosen opportunity types does not exist any more."))
        substate_ids = SubstatesField(
            _l("Substates"),
            description=_l("The tasks created by automatic actions of these substates are completed. Hold Ctrl "
                           "(⌘ on a Mac) to choose several."))

        def validate_type_ids(self, field) -> None:
            if not field.data:
                raise StopValidation(_("Choose at least one opportunity type."))

    def fill(self, form, substate) -> None:
        from services import flow

        types = flow.list_types()
        form.type_ids.choices = options((t.id, t.label) for t in types)
        form.substate_ids.set_groups(flow.substate_groups(last_type_id=None))

    def check(self, form, substate) -> dict[str, str]:
        chosen = set(form.type_ids.data)
        outside = db.session.execute(
            select(Substate).join(State).where(Substate.id.in_(form.substate_ids.data),
                                               State.type_id.notin_(chosen)).order_by(Substate.id)
        ).scalars().first()
        if outside is not None:
            return {"substate_ids": _("“%(name)s” is not a substate of a chosen opportunity type.",
                                      name=outside.label)}
        return {}

    def config_of(self, form) -> dict:
        return {"type_ids": sorted(set(form.type_ids.data or [])),
                "substate_ids": sorted(set(form.substate_ids.data or []))}

    def summary(self, config: dict, lookup: Lookup) -> str:
        names = [quoted(lookup.name(Substate, i, whole_table=False)) for i in config.get("substate_ids") or []]
        return ", ".join(names[:4]) + (" …" if len(names) > 4 else "")

    def substate_refs(self, config: dict) -> list[int]:
        return list(config.get("substate_ids") or [])

    def execute(self, run) -> dict:
        """Complete each matching open task in the run's transaction and chain; returns their ids."""
        from services import tasks
        from services.events import Chain

        config = run.config or {}
        substate_ids = [int(i) for i in config.get("substate_ids") or []]
        type_ids = [int(i) for i in config.get("type_ids") or []]
        if not substate_ids or not type_ids:
            return {"completed_task_ids": []}
        found = db.session.execute(
            select(Task).join(Substate, Substate.id == Task.substate_id).join(State, State.id == Substate.state_id)
            .where(Task.opportunity_id == run.opportunity_id, Task.by_automation.is_(True),
                   Task.substate_id.in_(substate_ids), State.type_id.in_(type_ids),
                   Task.status.in_(OPEN_TASK_STATUSES))
            .order_by(Task.id).with_for_update(of=Task)
        ).scalars().all()
        chain = Chain.from_run(run)
        done = []
        for task in found:
            if tasks.change_status(task, "completed", None, run_id=run.id, chain=chain) is not None:
                done.append(task.id)
        return {"completed_task_ids": done}


KIND = CompleteTasks()

