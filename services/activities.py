"""Activity types (Settings → Activity types, SPEC S4) and the activities on opportunities (A7), some of them
scheduled (M5 "Schedule activity": a time, a responsible user, a colour and the meeting's details)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import Activity, ActivityType, Opportunity, Substate, User
from models.base import utcnow
from services import ServiceError
from services.colours import DEFAULT_COLOUR, colour_name  # noqa: F401 - re-exported for templates
from services.flow import clean_names
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")


# -- activity types -----------------------------------------------------------------------------------

def list_types() -> list[tuple[ActivityType, int]]:
    """Every activity type by name, with how many activities use it."""
    used = dict(db.session.execute(select(Activity.type_id, func.count()).group_by(Activity.type_id)).all())
    types = db.session.execute(select(ActivityType).order_by(ActivityType.name)).scalars()
    return [(t, used.get(t.id, 0)) for t in types]


def usage_of(activity_type: ActivityType) -> int:
    """How many activities are of this type."""
    return db.session.scalar(select(func.count()).where(Activity.type_id == activity_type.id)) or 0


def create_type(name: str, translations: dict, actor: User) -> ActivityType:
    """Create an active activity type with a unique name and optional it/es/en names."""
    name, i18n = clean_names(name, translations)
    _refuse_taken(name, None)
    activity_type = ActivityType(name=name, name_i18n=i18n, active=True)
    db.session.add(activity_type)
    flush_unique("name", _("Another activity type already has this name."))
    log.info("activity type %s created by %s", activity_type.id, actor.id)
    return activity_type


def rename_type(activity_type: ActivityType, name: str, translations: dict, actor: User) -> ActivityType:
    """Rename an activity type; activities already created show the new name."""
    name, i18n = clean_names(name, translations)
    _refuse_taken(name, activity_type.id)
    activity_type.name, activity_type.name_i18n = name, i18n
    flush_unique("name", _("Another activity type already has this name."))
    log.info("activity type %s renamed by %s", activity_type.id, actor.id)
    return activity_type


def set_type_active(activity_type: ActivityType, active: bool, actor: User) -> ActivityType:
    """Activate or deactivate a type: a deactivated one is not offered to new actions, and actions that
    still name it fail with that reason; activities already created keep it."""
    activity_type.active = active
    db.session.flush()
    log.info("activity type %s %s by %s", activity_type.id, "activated" if active else "deactivated", actor.id)
    return activity_type


def _refuse_taken(name: str, exclude_id: int | None) -> None:
    if name_taken(ActivityType.name, name, exclude_id):
        raise InvalidData({"name": _("Another activity type already has this name.")})


# -- activities ---------------------------------------------------------------------------------------

def activities_of(opp: Opportunity) -> list[Activity]:
    """The opportunity's activities: open ones first, then completed, each newest first."""
    return list(db.session.execute(
        select(Activity).options(selectinload(Activity.invitees), joinedload(Activity.responsible),
                                 joinedload(Activity.location), joinedload(Activity.attachment),
                                 joinedload(Activity.type))
        .where(Activity.opportunity_id == opp.id)
        .order_by(Activity.completed_at.is_not(None), Activity.id.desc())
    ).scalars())


def create_activity(opp: Opportunity, activity_type: ActivityType, description: str,
                    user: User | None = None, run_id: int | None = None) -> Activity:
    """Add an activity to the opportunity (user None and a run id: created by automation)."""
    activity = Activity(opportunity_id=opp.id, type_id=activity_type.id, description=(description or "").strip(),
                        created_by_id=user.id if user else None, run_id=run_id, created_at=utcnow())
    db.session.add(activity)
    db.session.flush()
    return activity


def may_complete(user: User) -> bool:
    """Internal users who edit opportunities, and users of a partner company the opportunity is
    assigned to (the caller has already scoped the opportunity to the user)."""
    return user.is_partner or user.can("opportunities.edit")


def complete(opp: Opportunity, activity_id: int, user: User) -> Activity:
    """Mark one of the opportunity's activities completed, recording who and when."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.opportunity_id != opp.id:
        raise ServiceError(_("This activity does not exist."), 404)
    if not may_complete(user):
        raise ServiceError(_("You may not complete activities of this opportunity."), 403)
    if activity.is_completed:
        raise ServiceError(_("This activity is already completed."), 409)
    activity.completed_at, activity.completed_by_id = utcnow(), user.id
    db.session.flush()
    return activity


# -- scheduled activities (M5) ------------------------------------------------------------------------

def duration_text(minutes: int | None) -> str:
    """"30 minutes", "2 hours", "1 h 30 min", in the reader's language."""
    minutes = minutes or 0
    hours, rest = divmod(minutes, 60)
    if not hours:
        return ngettext("%(num)d minute", "%(num)d minutes", rest)
    if not rest:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)


@dataclass
class Schedule:
    """What a scheduled activity holds besides its type and description (engine.kinds.schedule_activity
    fills it from the action's config with the placeholders filled in)."""

    subject: str
    due_at: datetime  # naive UTC
    duration_minutes: int
    responsible: User
    colour: str = DEFAULT_COLOUR
    in_calendar: bool = True
    include_client: bool = False
    invitees: list[User] = field(default_factory=list)
    address: str | None = None
    location_id: int | None = None
    location_text: str | None = None
    link: str | None = None
    attachment_id: int | None = None
    auto_complete_substate: Substate | None = None
    completed_at: datetime | None = None


def schedule_activity(opp: Opportunity, activity_type: ActivityType, description: str, plan: Schedule,
                      run_id: int | None = None) -> Activity:
    """Add a scheduled activity to the opportunity (a plain activity with a time, a responsible user and
    the meeting's details), created by the run `run_id`."""
    activity = create_activity(opp, activity_type, description, run_id=run_id)
    activity.subject = plan.subject[:200]
    activity.due_at, activity.duration_minutes = plan.due_at, plan.duration_minutes
    activity.responsible_id, activity.colour = plan.responsible.id, plan.colour
    activity.in_calendar, activity.include_client = plan.in_calendar, plan.include_client
    activity.invitees = [u for u in plan.invitees if u.id != plan.responsible.id]
    activity.address = (plan.address or "").strip()[:300] or None
    activity.location_id = plan.location_id
    activity.location_text = (plan.location_text or "").strip()[:200] or None
    activity.link, activity.attachment_id = plan.link or None, plan.attachment_id
    if plan.auto_complete_substate is not None:
        activity.auto_complete_substate_id = plan.auto_complete_substate.id
    activity.completed_at = plan.completed_at
    db.session.flush()
    return activity


def auto_complete(opp: Opportunity, substate: Substate, at: datetime) -> int:
    """The opportunity left `substate`: complete its still-open activities scheduled there with "complete
    automatically" on (by automation: no user), in the caller's transaction; how many."""
    result = db.session.execute(
        update(Activity)
        .where(Activity.opportunity_id == opp.id, Activity.auto_complete_substate_id == substate.id,
               Activity.completed_at.is_(None))
        .values(completed_at=at, completed_by_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
