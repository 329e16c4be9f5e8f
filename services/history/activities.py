"""History tab Activities: runs that created an activity (A7) or scheduled one (M5), and whether it was completed."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import case

from extensions import db
from models import ActionRun, Activity, ActivityType
from models.base import translated
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
from services.history.shown import ended_shown, translated_name

COMPLETED = _l("Completed")
NOT_COMPLETED = _l("Not completed")


def _status(row):
    activity = row[2]
    return waiting_or_ended(row, lambda: (COMPLETED, "succeeded") if activity and activity.is_completed
                            else (NOT_COMPLETED, "pending"))


def _type_labels(names: list[str]) -> dict[str, str]:
    """The activity types' names in the user's language, for the filter's options."""
    rows = db.session.execute(db.select(ActivityType.name, ActivityType.name_i18n)
                              .where(ActivityType.name.in_(names))).all()
    return {name: translated(name, i18n) for name, i18n in rows}


def _status_shown():
    done = case((Activity.completed_at.is_not(None), "completed"), else_="not_completed")
    return ended_shown(done, {"completed": COMPLETED, "not_completed": NOT_COMPLETED})


STATUSES = {
    "completed": (COMPLETED, Activity.completed_at.is_not(None)),
    "not_completed": (NOT_COMPLETED, (Activity.id.is_not(None)) & Activity.completed_at.is_(None)),
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="activities", label=_l("Activities"), kinds=("create_activity", "schedule_activity"), position=20,
    entities=(Activity, ActivityType.name, ActivityType.name_i18n),
    join=lambda stmt: stmt.outerjoin(Activity, Activity.run_id == ActionRun.id)
    .outerjoin(ActivityType, ActivityType.id == Activity.type_id),
    columns=[
        opportunity_column(),
        Column("type", _l("Activity type"), ActivityType.name, lambda row: translated(row[3], row[4]),
               filter="select", option_labels=_type_labels, shown=lambda: translated_name(ActivityType)),
        when_column(),
        status_column(STATUSES, _status, _status_shown),
    ],
))
