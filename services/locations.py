"""Settings → Locations (M5): the rooms and places a scheduled activity can be booked in; named like
activity types (a fallback name and it/es/en translations), with an address, deactivated rather than
deleted so activities already scheduled there keep their place."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Activity, Location, User
from services.flow import clean_names
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")
MAX_ADDRESS = 300


def list_locations() -> list[tuple[Location, int]]:
    """Every location by name, with how many activities are scheduled there."""
    used = dict(db.session.execute(
        select(Activity.location_id, func.count()).where(Activity.location_id.is_not(None))
        .group_by(Activity.location_id)).all())
    rows = db.session.execute(select(Location).order_by(Location.name)).scalars()
    return [(loc, used.get(loc.id, 0)) for loc in rows]


def active_locations() -> list[Location]:
    """The locations offered to new actions, by name."""
    return list(db.session.execute(
        select(Location).where(Location.active.is_(True)).order_by(Location.name)).scalars())


def usage_of(location: Location) -> int:
    """How many activities are scheduled at this location."""
    return db.session.scalar(select(func.count()).where(Activity.location_id == location.id)) or 0


def _clean(name: str, translations: dict, address: str | None, exclude_id: int | None) -> tuple[str, dict, str]:
    errors: dict[str, str] = {}
    try:
        name, i18n = clean_names(name, translations)
    except InvalidData as err:
        errors.update(err.errors)
        i18n = {}
    address = (address or "").strip()
    if len(address) > MAX_ADDRESS:
        errors["address"] = _("At most %(max)d characters.", max=MAX_ADDRESS)
    if "name" not in errors and name_taken(Location.name, name, exclude_id):
        errors["name"] = _("Another location already has this name.")
    if errors:
        raise InvalidData(errors)
    return name, i18n, address


def create_location(name: str, translations: dict, address: str | None, actor: User) -> Location:
    """Create an active location with a unique name, optional it/es/en names and an address."""
    name, i18n, address = _clean(name, translations, address, None)
    location = Location(name=name, name_i18n=i18n, address=address or None, active=True)
    db.session.add(location)
    flush_unique("name", _("Another location already has this name."))
    log.info("location %s created by %s", location.id, actor.id)
    return location


def update_location(location: Location, name: str, translations: dict, address: str | None,
                    actor: User) -> Location:
    """Rename a location or change its address; activities already scheduled there show the new name."""
    name, i18n, address = _clean(name, translations, address, location.id)
    location.name, location.name_i18n, location.address = name, i18n, address or None
    flush_unique("name", _("Another location already has this name."))
    log.info("location %s changed by %s", location.id, actor.id)
    return location


def set_active(location: Location, active: bool, actor: User) -> Location:
    """Activate or deactivate a location: a deactivated one is not offered to new actions, and actions that
    still name it fail with that reason; activities already scheduled there keep it."""
    location.active = active
    db.session.flush()
    log.info("location %s %s by %s", location.id, "activated" if active else "deactivated", actor.id)
    return location
