"""History tab Substates: runs that opened or closed a substate automatically."""

from flask_babel import lazy_gettext as _l

from models import ActionRun, Substate
from models.base import translated
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_statuses,
    status_column,
    when_column,
)
from services.history.shown import labelled, name_matches, run_status_shown, translated_name

CHANGES = {
    "open_substate": (_l("Opened"), ActionRun.kind == "open_substate"),
    "close_substate": (_l("Closed"), ActionRun.kind == "close_substate"),
}
COMPLETED = _l("Completed")


def _status(row):
    run = row[0]
    return (COMPLETED, "succeeded") if run.status == "succeeded" else (run.status_label, run.status)


STATUSES = {"succeeded": (COMPLETED, ActionRun.status == "succeeded"), **run_statuses(*COMMON_STATUSES)}

TAB = register(Tab(
    key="substates", label=_l("Substates"), kinds=("open_substate", "close_substate"), position=30,
    # The substate the run opened or closed (its action's config), not the one the action belongs to.
    entities=(Substate.name, Substate.name_i18n),
    join=lambda stmt: stmt.outerjoin(Substate, Substate.id == ActionRun.config["substate_id"].as_integer()),
    columns=[
        opportunity_column(),
        Column("change", _l("Change"), ActionRun.kind, lambda row: str(CHANGES[row[0].kind][0]),
               filter="select", options=CHANGES,
               shown=lambda: labelled(ActionRun.kind, {key: label for key, (label, _cond) in CHANGES.items()})),
        # Shown, sorted and found by its name in the user's language (found in any language).
        Column("substate", _l("Substate"), Substate.name, lambda row: translated(row[2], row[3]),
               shown=lambda: translated_name(Substate), match=name_matches(Substate, Substate.id)),
        when_column(),
        status_column(STATUSES, _status, lambda: run_status_shown(succeeded=COMPLETED)),
    ],
))
