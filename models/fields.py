"""Custom fields of opportunities (S11), their values, the fields a substate requires before it closes (D4)
and process automations that tie a field to a substate both ways (T2, seed 003)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TranslatedName, utcnow
from models.flow import OpportunityType, Substate

FIELD_TYPES = {
    "text": _l("Text"),
    "long_text": _l("Long text"),
    "number": _l("Number"),
    "amount": _l("Amount"),
    "date": _l("Date"),
    "choice": _l("Single choice"),
    "multi_choice": _l("Multiple choice"),
    "yes_no": _l("Yes/no"),
}
CHOICE_TYPES = ("choice", "multi_choice")

# The opportunity types a custom field applies to (none: every type).
custom_field_type = Table(
    "custom_field_type",
    db.metadata,
    Column("field_id", ForeignKey("custom_field.id", ondelete="CASCADE"), primary_key=True),
    Column("type_id", ForeignKey("opportunity_type.id", ondelete="CASCADE"), primary_key=True),
)


class CustomField(TranslatedName, db.Model):
    """A field an admin adds to opportunities: `key` names it in placeholders and exports
    (`{{ opportunity.fields.<key> }}`); `options` are a choice's [{"key", "name", "name_i18n"}]."""

    __tablename__ = "custom_field"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    field_type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    types: Mapped[list[OpportunityType]] = relationship(secondary=custom_field_type, order_by="OpportunityType.id")

    def applies_to(self, type_id: int) -> bool:
        return not self.types or any(t.id == type_id for t in self.types)


class FieldValue(db.Model):
    """One custom field's value on one opportunity, kept typed so lists filter and sort on an index:
    `text` holds text, a choice's key or a multiple choice's keys as "|a|b|"; `number` numbers and amounts;
    `day` dates; `flag` yes/no. A value that is emptied is deleted, so "filled" means "a row exists"."""

    __tablename__ = "field_value"
    __table_args__ = (
        UniqueConstraint("opportunity_id", "field_id"),
        Index("ix_field_value_text", "field_id", "text", "opportunity_id"),
        Index("ix_field_value_number", "field_id", "number", "opportunity_id"),
        Index("ix_field_value_day", "field_id", "day", "opportunity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_field.id", ondelete="CASCADE"))
    text: Mapped[str | None] = mapped_column(String(2000))
    long_text: Mapped[str | None] = mapped_column(Text)
    number: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    day: Mapped[date | None] = mapped_column(Date)
    flag: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    field: Mapped[CustomField] = relationship()


class SubstateRequirement(db.Model):
    """D4: a field (custom, or a system field's key) that must be filled before the substate closes."""

    __tablename__ = "substate_requirement"
    __table_args__ = (
        UniqueConstraint("substate_id", "custom_field_id"),
        UniqueConstraint("substate_id", "system_field"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    substate_id: Mapped[int] = mapped_column(ForeignKey("substate.id", ondelete="CASCADE"), index=True)
    custom_field_id: Mapped[int | None] = mapped_column(ForeignKey("custom_field.id", ondelete="CASCADE"))
    system_field: Mapped[str | None] = mapped_column(String(40))

    custom_field: Mapped[CustomField | None] = relationship()


class ProcessAutomation(db.Model):
    """T2: filling the field closes (ticks) the substate; closing the substate by hand requires the field.
    Each field and each substate serves one automation at most (the unique constraints hold it even
    against two admins saving at once). The links stay when a field or substate is archived or deleted
    (SET NULL): the list then warns instead of losing the automation silently."""

    __tablename__ = "process_automation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    custom_field_id: Mapped[int | None] = mapped_column(
        ForeignKey("custom_field.id", ondelete="SET NULL"), unique=True)
    system_field: Mapped[str | None] = mapped_column(String(40), unique=True)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity_type.id", ondelete="SET NULL"))
    substate_id: Mapped[int | None] = mapped_column(ForeignKey("substate.id", ondelete="SET NULL"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the list shows when a link was deleted: the names they had.
    field_name: Mapped[str] = mapped_column(String(160), default="")
    substate_name: Mapped[str] = mapped_column(String(160), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    custom_field: Mapped[CustomField | None] = relationship()
    type: Mapped[OpportunityType | None] = relationship()
    substate: Mapped[Substate | None] = relationship()

    @property
    def field_ref(self) -> str | None:
        if self.custom_field_id:
            return f"custom:{self.custom_field_id}"
        return f"system:{self.system_field}" if self.system_field else None
