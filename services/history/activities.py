"""History tab Activities: runs that created an activity, and whether it was completed."""

from flask_babel import lazy_gettext as _l

from models import ActionRun, Activity, ActivityType
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_statuses,
    status_column,
    waiting_or_ended,
    when_column,
)

COMPLETED = _l("Completed")
NOT_COMPLETED = _l("Not completed")


def _status(row):
    activity = row[2]
    return waiting_or_ended(row, lambda: (COMPLETED, "succeeded") if activity and activity.is_completed
                            else (NOT_COMPLETED, "pending"))


STATUSES = {
    "completed": (COMPLETED, Activity.completed_at.is_not(None)),
    "not_completed": (NOT_COMPLETED, (Activity.id.is_not(None)) & Activity.completed_at.is_(None)),
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="activities", label=_l("Activities"), kinds=("create_activity",), position=20,
    entities=(Activity, ActivityType.name),
    join=lambda stmt: stmt.outerjoin(Activity, Activity.run_id == ActionRun.id)
    .outerjoin(ActivityType, ActivityType.id == Activity.type_id),
    columns=[
        opportunity_column(),
        Column("type", _l("Activity type"), ActivityType.name, lambda row: row[3] or "", filter="select"),
        when_column(),
        status_column(STATUSES, _status),
    ],
))
