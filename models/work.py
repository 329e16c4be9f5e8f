"""Work on an opportunity that automatic actions create: activities (A7) and partner assignments (A1/A2)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import PARTNER_KINDS, PartnerCompany, User
from models.base import utcnow
from models.catalog import ActivityType, AssignmentRule
from models.files import StoredFile
from models.opportunity import Opportunity
from models.tasks import Location

ASSIGNMENT_STATUSES = {
    "pending": _l("Pending"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    # A later "Assign … (reassign)" gave the opportunity to another company.
    "replaced": _l("Replaced"),
}
# Assignments that still weigh on a company's load (least-loaded strategy).
OPEN_ASSIGNMENT = ("pending", "accepted")


# Users invited to a scheduled activity (M5): they see it in their calendar and feed.
activity_invitee = Table(
    "activity_invitee",
    db.metadata,
    Column("activity_id", ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Activity(db.Model):
    """Something to do on an opportunity, e.g. an "Outbound call"; created by a run or by a person.
    A scheduled activity (M5, "Pianificare l'attività") also has a subject, a time, a responsible user and
    the meeting's details, and may show in calendars."""

    __tablename__ = "activity"
    __table_args__ = (
        Index("ix_activity_opportunity", "opportunity_id", "id"),
        # History: the activity type filter walks that type's activities newest run first.
        Index("ix_activity_type_run", "type_id", "run_id"),
        # Calendars: a user's scheduled activities in a time range.
        Index("ix_activity_responsible_due", "responsible_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    type_id: Mapped[int] = mapped_column(ForeignKey("activity_type.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Unique: a run creates its activity once, even if its job were delivered twice (SPEC E7).
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # -- scheduled activities (M5); empty on a plain activity (A7) --
    subject: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    colour: Mapped[str | None] = mapped_column(String(7))  # #rrggbb
    in_calendar: Mapped[bool] = mapped_column(Boolean, default=False)
    include_client: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    location_text: Mapped[str | None] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(500))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    # Completed by the engine when the opportunity leaves this substate (the seed's default: on).
    auto_complete_substate_id: Mapped[int | None] = mapped_column(ForeignKey("substate.id"))

    opportunity: Mapped[Opportunity] = relationship()
    type: Mapped[ActivityType] = relationship()
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id])
    invitees: Mapped[list[User]] = relationship(secondary=activity_invitee, order_by="User.name")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    location: Mapped[Location | None] = relationship()
    attachment: Mapped[StoredFile | None] = relationship()

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class Assignment(db.Model):
    """An opportunity given to a partner company (installer or commercial), and the company's answer."""

    __tablename__ = "assignment"
    __table_args__ = (
        Index("ix_assignment_opportunity", "opportunity_id", "id"),
        Index("ix_assignment_rule_company", "rule_id", "company_id"),
        Index("ix_assignment_company_status", "company_id", "partner_kind", "status"),
        # History: the company and status filters walk these newest run first and stop at one page.
        Index("ix_assignment_company_run", "company_id", "run_id"),
        Index("ix_assignment_status_run", "status", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("partner_company.id"))
    partner_kind: Mapped[str] = mapped_column(String(20))  # installer | commercial
    # The criterion that chose the company (round-robin and weighted count per criterion).
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_rule.id", ondelete="SET NULL"))
    strategy: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"), unique=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)

    opportunity: Mapped[Opportunity] = relationship()
    company: Mapped[PartnerCompany] = relationship()
    rule: Mapped[AssignmentRule | None] = relationship()
    responded_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(ASSIGNMENT_STATUSES.get(self.status, self.status))

    @property
    def kind_label(self) -> str:
        return str(PARTNER_KINDS.get(self.partner_kind, self.partner_kind))
