"""Activity types (Settings → Activity types, SPEC S4) and the activities on opportunities (A7)."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Activity, ActivityType, Opportunity, User
from models.base import utcnow
from services import ServiceError
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
        select(Activity).where(Activity.opportunity_id == opp.id)
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
