"""History tab Triggers (seed 002, T1): each time a trigger fired on an opportunity — the task whose
status change (or the field whose filling) fired it, the substate it opened, or why it did not (already open, moving back, loop guard,
chain too deep)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from models import ActionRun, Substate, Task, Trigger
from models.base import translated
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_status,
    run_statuses,
    status_column,
    when_column,
)
from services.history.shown import name_matches, translated_name

# One kind per trigger type (engine.trigger_types); a new type adds its kind here. A field trigger's run has
# no task, nor has an external-event trigger's: their Task cell stays empty (the joins are outer).
KINDS = ("trigger_task_status", "trigger_field", "trigger_external_event")
# The substate the run recorded opening, else (a run stopped before) the trigger's own.
SUBSTATE_ID = func.coalesce(ActionRun.result["substate_id"].as_integer(), Trigger.substate_id)

TAB = register(Tab(
    key="triggers", label=_l("Triggers"), kinds=KINDS, position=110,
    entities=(Trigger.name, Task, Substate.name, Substate.name_i18n),
    join=lambda stmt: stmt.outerjoin(Trigger, Trigger.id == ActionRun.trigger_id)
    .outerjoin(Task, Task.id == ActionRun.result["task_id"].as_integer())
    .outerjoin(Substate, Substate.id == SUBSTATE_ID),
    columns=[
        opportunity_column(),
        Column("trigger", _l("Trigger name"), Trigger.name, lambda row: row[2] or "", filter="select"),
        Column("task", _l("Task"), Task.title, lambda row: row[3].title if row[3] else "",
               link=lambda row: f"/tasks/{row[3].id}" if row[3] else None),
        # Shown, sorted and found by its name in the user's language (found in any language).
        Column("substate", _l("Substate opened"), Substate.name, lambda row: translated(row[4], row[5]),
               shown=lambda: translated_name(Substate), match=name_matches(Substate, Substate.id)),
        when_column(),
        status_column(run_statuses("succeeded", *COMMON_STATUSES), lambda row: run_status(row[0])),
    ],
))
