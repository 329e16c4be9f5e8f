"""Customers, opportunities and the open/closed substates of each opportunity."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.accounts import Channel, PartnerCompany, User
from models.base import utcnow
from models.flow import OpportunityType, Substate


class Customer(db.Model):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # Emails to the customer are written in this language.
    language: Mapped[str] = mapped_column(String(5), default="it")
    tax_code: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(80))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    province: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    opportunities: Mapped[list[Opportunity]] = relationship(back_populates="customer")


class Opportunity(db.Model):
    __tablename__ = "opportunity"
    __table_args__ = (
        Index("ix_opportunity_installer", "installer_id"),
        Index("ix_opportunity_commercial", "commercial_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("opportunity_type.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("partner_company.id"))
    commercial_id: Mapped[int | None] = mapped_column(ForeignKey("partner_company.id"))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    province: Mapped[str | None] = mapped_column(String(60))
    notes: Mapped[str | None] = mapped_column(Text)
    # The system fields process automations may use (seed 003): the client's company (when the customer
    # is a person), the person to talk to, and where the lead came from.
    company_name: Mapped[str | None] = mapped_column(String(160))
    contact_person: Mapped[str | None] = mapped_column(String(160))
    acquisition_source: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    type: Mapped[OpportunityType] = relationship()
    channel: Mapped[Channel] = relationship()
    customer: Mapped[Customer] = relationship(back_populates="opportunities")
    owner: Mapped[User | None] = relationship()
    installer: Mapped[PartnerCompany | None] = relationship(foreign_keys=[installer_id])
    commercial: Mapped[PartnerCompany | None] = relationship(foreign_keys=[commercial_id])
    substates: Mapped[list[OpportunitySubstate]] = relationship(
        back_populates="opportunity", cascade="all, delete-orphan"
    )


class OpportunitySubstate(db.Model):
    """Where an opportunity stands on one substate of its flow: open or closed, by whom and when."""

    __tablename__ = "opportunity_substate"
    __table_args__ = (UniqueConstraint("opportunity_id", "substate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    substate_id: Mapped[int] = mapped_column(ForeignKey("substate.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # open | closed
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    opportunity: Mapped[Opportunity] = relationship(back_populates="substates")
    substate: Mapped[Substate] = relationship()
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


class SubstateEvent(db.Model):
    """Every opening and closing, for the opportunity's timeline (user empty when automation acted)."""

    __tablename__ = "substate_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id"), index=True)
    substate_id: Mapped[int] = mapped_column(ForeignKey("substate.id"))
    event: Mapped[str] = mapped_column(String(10))  # opened | closed
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    substate: Mapped[Substate] = relationship()
    user: Mapped[User | None] = relationship()


# History sorted by opportunity (issue 16): names walked in the order the history shows them (case-insensitive),
# each opportunity's runs of a tab's kind then read by ix_action_run_kind_opportunity — one page, no sort.
Index("ix_opportunity_name_lower", func.lower(Opportunity.name), Opportunity.id)
