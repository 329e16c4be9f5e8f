"""Things automatic actions refer to: activity types, assignment criteria, SMTP credentials, templates.

Kept plain on purpose: the designer only needs to know they exist (SPEC D7); the issues that
build their settings pages extend them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TranslatedName, utcnow

if TYPE_CHECKING:
    from models.accounts import Channel, PartnerCompany
    from models.flow import OpportunityType

ASSIGNMENT_STRATEGIES = {
    "round_robin": _l("Round robin"),
    "weighted": _l("By weight"),
    "least_loaded": _l("Least loaded"),
}
SMTP_SECURITY = {"none": _l("None"), "starttls": "STARTTLS", "tls": "TLS"}
EXPORT_FORMATS = {"csv": "CSV", "xlsx": "XLSX"}


class ActivityType(TranslatedName, db.Model):
    """A kind of activity on an opportunity, e.g. "Outbound call" (Settings → Activity types)."""

    __tablename__ = "activity_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AssignmentRule(db.Model):
    """An assignment criterion: which partner companies get opportunities of a type, channel and area."""

    __tablename__ = "assignment_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_kind: Mapped[str] = mapped_column(String(20))  # installer | commercial
    type_id: Mapped[int | None] = mapped_column(ForeignKey("opportunity_type.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    province: Mapped[str | None] = mapped_column(String(60))
    postal_prefix: Mapped[str | None] = mapped_column(String(10))
    strategy: Mapped[str] = mapped_column(String(20), default="round_robin")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    companies: Mapped[list[AssignmentRuleCompany]] = relationship(
        back_populates="rule", cascade="all, delete-orphan"
    )
    type: Mapped[OpportunityType | None] = relationship()
    channel: Mapped[Channel | None] = relationship()

    @property
    def strategy_label(self) -> str:
        return str(ASSIGNMENT_STRATEGIES.get(self.strategy, self.strategy))


class AssignmentRuleCompany(db.Model):
    __tablename__ = "assignment_rule_company"

    rule_id: Mapped[int] = mapped_column(ForeignKey("assignment_rule.id", ondelete="CASCADE"), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("partner_company.id"), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer, default=1)

    rule: Mapped[AssignmentRule] = relationship(back_populates="companies")
    company: Mapped[PartnerCompany] = relationship()


class SmtpCredential(db.Model):
    __tablename__ = "smtp_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")  # none | starttls | tls
    username: Mapped[str | None] = mapped_column(String(255))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str] = mapped_column(String(254))
    from_name: Mapped[str | None] = mapped_column(String(120))

    @property
    def security_label(self) -> str:
        return str(SMTP_SECURITY.get(self.security, self.security))


class EmailTemplate(TranslatedName, db.Model):
    """Subject and body per language; `label` is its name in the reader's language."""

    __tablename__ = "email_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    subjects: Mapped[dict] = mapped_column(JSON, default=dict)  # {lang: subject}
    bodies: Mapped[dict] = mapped_column(JSON, default=dict)  # {lang: html}


class ReportTemplate(db.Model):
    __tablename__ = "report_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(120), unique=True)
    html: Mapped[str] = mapped_column(Text, default="")
    css: Mapped[str] = mapped_column(Text, default="")
    paper_size: Mapped[str] = mapped_column(String(10), default="A4")  # A4 | Letter
    orientation: Mapped[str] = mapped_column(String(10), default="portrait", server_default="portrait")


class ExportTemplate(db.Model):
    __tablename__ = "export_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    columns: Mapped[list] = mapped_column(JSON, default=list)
    file_format: Mapped[str] = mapped_column(String(10), default="csv")  # csv | xlsx


class ExternalSourceAction(db.Model):
    """What to do when an external source reports an event (e.g. a signature completed)."""

    __tablename__ = "external_source_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    source_name: Mapped[str] = mapped_column(String(60))
    # The event of the source that runs it (models.signatures.EVENTS).
    event: Mapped[str] = mapped_column(String(20), default="signed", server_default="signed")
    # [{"op": "close" | "open", "substate_id": id}], applied in this order.
    actions: Mapped[list] = mapped_column(JSON, default=list)
