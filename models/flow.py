"""Opportunity types and their ordered states, substates and automatic actions."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String, Table, and_, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import Channel
from models.base import TranslatedName, utcnow

ACTION_GROUPS = {
    "on_open": _l("Actions on open"),
    "on_close": _l("Actions on close"),
    "scheduled": _l("Scheduled actions"),
}
DELAY_UNITS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}

action_channel = Table(
    "action_channel",
    db.metadata,
    Column("action_id", ForeignKey("action.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
)


class OpportunityType(TranslatedName, db.Model):
    __tablename__ = "opportunity_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # D12: bumped once per transaction that changes the flow (services.flow_versions); runs record it.
    config_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    states: Mapped[list[State]] = relationship(
        back_populates="type", order_by="State.position", cascade="all, delete-orphan"
    )

    @property
    def substates(self) -> list[Substate]:
        return [sub for state in self.states for sub in state.substates]


class State(TranslatedName, db.Model):
    __tablename__ = "state"

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("opportunity_type.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    type: Mapped[OpportunityType] = relationship(back_populates="states")
    substates: Mapped[list[Substate]] = relationship(
        back_populates="state", order_by="Substate.position", cascade="all, delete-orphan"
    )


class Substate(TranslatedName, db.Model):
    __tablename__ = "substate"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("state.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Partner users may open and close this substate on opportunities assigned to them.
    partner_can_act: Mapped[bool] = mapped_column(Boolean, default=False)
    # D4: closing it by hand asks for a note, which goes to the timeline; linked tasks then never close it.
    requires_note: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    state: Mapped[State] = relationship(back_populates="substates")
    actions: Mapped[list[Action]] = relationship(
        back_populates="substate", order_by="Action.position", cascade="all, delete-orphan"
    )

    @property
    def type_id(self) -> int:
        return self.state.type_id


class Action(db.Model):
    """An automatic action of a substate: its group, kind, the kind's config and channel filter."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    substate_id: Mapped[int] = mapped_column(ForeignKey("substate.id"), index=True)
    group: Mapped[str] = mapped_column(String(20))  # on_open | on_close | scheduled
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    delay_amount: Mapped[int | None] = mapped_column(Integer)
    delay_unit: Mapped[str | None] = mapped_column(String(10))
    respect_working_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Auto-pause (SPEC E10, services.auto_pause): failures in a row since the last success, the newest of them
    # (a success after it resets the count), and when the action paused itself (None: it runs).
    failure_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failed_run_id: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime)

    substate: Mapped[Substate] = relationship(back_populates="actions")
    # Empty means every channel, as the seeds' default.
    channels: Mapped[list[Channel]] = relationship(secondary=action_channel, order_by="Channel.name")

    @classmethod
    def makes_runs(cls):
        """The actions an opening or closing runs (engine.triggers): enabled and not paused (E10)."""
        return and_(cls.enabled.is_(True), cls.paused_at.is_(None))
