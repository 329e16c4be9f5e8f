"""Partner companies (installers, commercial agencies): search, create, edit."""

import logging

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from extensions import db
from models import PartnerCompany, User
from models.accounts import PARTNER_KINDS
from services import validation
from services.validation import InvalidData

log = logging.getLogger("oppflow")

FIELDS = ("name", "kind", "email", "phone", "province", "language", "active")


def search(kind: str | None = None) -> Select:
    """Partner companies by name, optionally of one kind, with their users loaded."""
    stmt = select(PartnerCompany).options(selectinload(PartnerCompany.users)).order_by(PartnerCompany.name)
    if kind:
        stmt = stmt.where(PartnerCompany.kind == kind)
    return stmt


def create_company(data: dict, actor: User) -> PartnerCompany:
    """Create a partner company from validated form data."""
    company = PartnerCompany()
    _check(company, data)
    _apply(company, data)
    db.session.add(company)
    validation.flush_unique("name", _("Another partner company already has this name."))
    log.info("partner company %s created by %s", company.id, actor.id)
    return company


def update_company(company: PartnerCompany, data: dict, actor: User) -> PartnerCompany:
    """Update a partner company from validated form data."""
    _check(company, data)
    _apply(company, data)
    validation.flush_unique("name", _("Another partner company already has this name."))
    log.info("partner company %s updated by %s", company.id, actor.id)
    return company


def _apply(company: PartnerCompany, data: dict) -> None:
    data = {**data, "language": data.get("language") or company.language or "it"}
    for key in FIELDS:
        value = data.get(key)
        setattr(company, key, (value.strip() or None) if isinstance(value, str) else value)
    company.name = data["name"].strip()


def _check(company: PartnerCompany, data: dict) -> None:
    errors = {}
    if data.get("kind") not in PARTNER_KINDS:
        errors["kind"] = _("Choose installer or commercial.")
    if name_taken(data.get("name") or "", company.id):
        errors["name"] = _("Another partner company already has this name.")
    if errors:
        raise InvalidData(errors)


def name_taken(name: str, exclude_id: int | None = None) -> bool:
    """Whether another company has this name, whatever its case."""
    return validation.name_taken(PartnerCompany.name, name, exclude_id)
