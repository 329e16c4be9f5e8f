"""Channels opportunities come from: list with usage, create, rename, activate, delete."""

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from extensions import db
from models import AssignmentRule, Channel, Opportunity, User
from models.flow import action_channel
from services import ServiceError
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")


@dataclass
class ChannelUsage:
    channel: Channel
    opportunities: int
    actions: int
    rules: int

    @property
    def in_use(self) -> bool:
        return bool(self.opportunities or self.actions or self.rules)


# What refers to a channel: opportunities, actions' channel filters, assignment criteria.
_REFERRERS = (Opportunity.channel_id, action_channel.c.channel_id, AssignmentRule.channel_id)


def _counts(channel_ids=None) -> list[dict[int, int]]:
    counts = []
    for column in _REFERRERS:
        stmt = select(column, func.count()).group_by(column)
        if channel_ids is not None:
            stmt = stmt.where(column.in_(channel_ids))
        counts.append(dict(db.session.execute(stmt).all()))
    return counts


def list_channels() -> list[ChannelUsage]:
    """Every channel by name, with how many opportunities, actions and assignment criteria use it."""
    opps, actions, rules = _counts()
    channels = db.session.execute(select(Channel).order_by(Channel.name)).scalars()
    return [ChannelUsage(c, opps.get(c.id, 0), actions.get(c.id, 0), rules.get(c.id, 0)) for c in channels]


def usage_of(channel: Channel) -> ChannelUsage:
    """How many opportunities, actions and assignment criteria use this channel."""
    opps, actions, rules = _counts([channel.id])
    return ChannelUsage(channel, opps.get(channel.id, 0), actions.get(channel.id, 0), rules.get(channel.id, 0))


def create_channel(name: str, actor: User) -> Channel:
    """Create an active channel with a unique name."""
    channel = Channel(name=_unique_name(name, None), active=True)
    db.session.add(channel)
    flush_unique("name", _taken_message())
    log.info("channel %s created by %s", channel.id, actor.id)
    return channel


def rename_channel(channel: Channel, name: str, actor: User) -> Channel:
    """Give a channel a new unique name."""
    channel.name = _unique_name(name, channel.id)
    flush_unique("name", _taken_message())
    log.info("channel %s renamed by %s", channel.id, actor.id)
    return channel


def set_active(channel: Channel, active: bool, actor: User) -> Channel:
    """Activate or deactivate a channel; opportunities keep it either way."""
    channel.active = active
    db.session.flush()
    log.info("channel %s %s by %s", channel.id, "activated" if active else "deactivated", actor.id)
    return channel


def delete_channel(channel: Channel, actor: User) -> None:
    """Delete a channel nothing uses; refused while opportunities, actions or assignment criteria name it."""
    usage = usage_of(channel)
    if usage.opportunities:
        raise ServiceError(ngettext(
            "%(num)d opportunity uses this channel: it cannot be deleted. Deactivate it instead.",
            "%(num)d opportunities use this channel: it cannot be deleted. Deactivate it instead.",
            usage.opportunities), 409)
    if usage.actions:
        # Dropping it from an action's filter could widen that action to every channel.
        raise ServiceError(ngettext(
            "%(num)d automatic action is limited to this channel: it cannot be deleted. Deactivate it instead.",
            "%(num)d automatic actions are limited to this channel: it cannot be deleted. Deactivate it instead.",
            usage.actions), 409)
    if usage.rules:
        raise ServiceError(ngettext(
            "%(num)d assignment criterion uses this channel: it cannot be deleted. Deactivate it instead.",
            "%(num)d assignment criteria use this channel: it cannot be deleted. Deactivate it instead.",
            usage.rules), 409)
    log.info("channel %s (%s) deleted by %s", channel.id, channel.name, actor.id)
    db.session.delete(channel)
    db.session.flush()


def _unique_name(name: str, exclude_id: int | None) -> str:
    name = (name or "").strip()
    if name_taken(Channel.name, name, exclude_id):
        raise InvalidData({"name": _taken_message()})
    return name


def _taken_message() -> str:
    return _("Another channel already has this name.")
