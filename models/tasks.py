"""Tasks (incarichi, seed 002), the history entries automation writes (M2), triggers on a substate (T1),
meeting locations (M5) and each user's calendar feed."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import User
from models.base import TranslatedName, utcnow
from models.flow import Substate
from models.opportunity import Opportunity

# In their own context: Italian agrees them with "incarico" (masculine), not with "attività".
TASK_STATUSES = {
    "todo": lazy_pgettext("task status", "To do"),
    "in_progress": lazy_pgettext("task status", "In progress"),
    "completed": lazy_pgettext("task status", "Completed"),
    "deferred": lazy_pgettext("task status", "Deferred"),
}
# A task in one of these is still to be done: its deadline can be overdue.
OPEN_TASK_STATUSES = ("todo", "in_progress")
TASK_ROLES = {"participant": _l("Participant"), "observer": _l("Observer")}


class Task(db.Model):
    """Something a person must do on an opportunity, by a deadline; created by a person or by a run."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_opportunity", "opportunity_id", "id"),
        # The task list: mine (by status, deadline), and everyone's newest first or by deadline.
        Index("ix_task_responsible_status", "responsible_id", "status", "deadline", "id"),
        Index("ix_task_status_deadline", "status", "deadline", "id"),
        Index("ix_task_deadline", "deadline", "id"),
        # M4: the tasks automation created in some substates of one opportunity.
        Index("ix_task_opportunity_substate", "opportunity_id", "substate_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    # The substate the task belongs to (for a run: the substate of the action that created it).
    substate_id: Mapped[int | None] = mapped_column(ForeignKey("substate.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    deadline: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    status: Mapped[str] = mapped_column(String(20), default="todo")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Created by automation: the run (unique, so a job delivered twice creates its task once, SPEC E7).
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), unique=True)
    # Automation created it (kept when the run row is pruned): M4 completes only these.
    by_automation: Mapped[bool] = mapped_column(Boolean, default=False)
    # T3: added from the substate on the opportunity page; completing all of them closes the substate.
    linked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    opportunity: Mapped[Opportunity] = relationship()
    substate: Mapped[Substate | None] = relationship()
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    status_changed_by: Mapped[User | None] = relationship(foreign_keys=[status_changed_by_id])
    people: Mapped[list[TaskPerson]] = relationship(cascade="all, delete-orphan", order_by="TaskPerson.user_id")

    @property
    def status_label(self) -> str:
        return str(TASK_STATUSES.get(self.status, self.status))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.is_open and self.deadline is not None and self.deadline < (now or utcnow())

    def user_ids(self, role: str) -> list[int]:
        return [p.user_id for p in self.people if p.role == role]


class TaskPerson(db.Model):
    """A participant or an observer of a task."""

    __tablename__ = "task_person"
    __table_args__ = (Index("ix_task_person_user", "user_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)  # participant | observer

    user: Mapped[User] = relationship()


class TaskStatusChange(db.Model):
    """Every status change of a task: who (None: automation, then its run) and when."""

    __tablename__ = "task_status_change"
    __table_args__ = (
        Index("ix_task_status_change_task", "task_id", "id"),
        # The history's Tasks tab: the tasks a Complete-tasks run completed (one row per change it made).
        Index("ix_task_status_change_run", "run_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship()


class HistoryEntry(db.Model):
    """A line automation (M2) writes on an opportunity's timeline on behalf of a user."""

    __tablename__ = "history_entry"
    __table_args__ = (
        Index("ix_history_entry_opportunity", "opportunity_id", "id"),
        Index("ix_history_entry_author", "author_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class Trigger(db.Model):
    """A trigger on a substate (SPEC T1): when its event happens on an opportunity and its conditions
    hold, the engine opens the substate. `kind` names its plug-in (engine.trigger_types)."""

    __tablename__ = "trigger"

    id: Mapped[int] = mapped_column(primary_key=True)
    substate_id: Mapped[int] = mapped_column(ForeignKey("substate.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(160))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    # On behalf of this user the timeline records the move (None: automation).
    as_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    allow_back: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    substate: Mapped[Substate] = relationship()
    as_user: Mapped[User | None] = relationship()


class Location(TranslatedName, db.Model):
    """A place meetings happen (Settings → Locations): a room in the office, a showroom."""

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CalendarFeed(db.Model):
    """A user's secret iCalendar feed address: looked up by the token's hash, shown again from the
    encrypted token; a new address revokes the old one."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
