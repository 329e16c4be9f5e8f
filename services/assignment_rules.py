"""Settings → Assignment criteria (SPEC S5): rules by partner kind, opportunity type, channel, province
or postal-code prefix, with a strategy and weighted candidate companies. services.assignment applies them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models import AssignmentRule, AssignmentRuleCompany, Channel, OpportunityType, PartnerCompany, User
from models.accounts import PARTNER_KINDS
from models.catalog import ASSIGNMENT_STRATEGIES
from services import ServiceError
from services.assignment import specificity
from services.validation import InvalidData

log = logging.getLogger("oppflow")
DUPLICATE = _l("Another active criterion already has exactly these conditions: change that one instead.")
MAX_WEIGHT = 100
_PREFIX = re.compile(r"^[0-9A-Z]{1,10}$")


@dataclass
class RuleData:
    """What the form sends; `companies` maps a company id to its weight as typed."""

    partner_kind: str = "installer"
    type_id: int | None = None
    channel_id: int | None = None
    province: str = ""
    postal_prefix: str = ""
    strategy: str = "round_robin"
    active: bool = True
    companies: dict[int, str] = field(default_factory=dict)


def list_rules() -> list[AssignmentRule]:
    """Every criterion, installers first, each kind in the order of precedence."""
    rules = db.session.execute(select(AssignmentRule)).scalars()
    return sorted(rules, key=lambda r: (r.partner_kind != "installer", r.partner_kind, not r.active,
                                        *specificity(r)))


def companies_for(partner_kind: str, rule: AssignmentRule | None = None) -> list[PartnerCompany]:
    """Companies a criterion of this kind may name: the active ones, plus those it already names."""
    named = {link.company_id for link in rule.companies} if rule else set()
    stmt = select(PartnerCompany).where(PartnerCompany.kind == partner_kind).order_by(PartnerCompany.name)
    return [c for c in db.session.execute(stmt).scalars() if c.active or c.id in named]


def create_rule(data: RuleData, actor: User) -> AssignmentRule:
    """Create a criterion; nothing is saved when any field is refused."""
    rule = AssignmentRule()
    _apply(rule, data)
    db.session.add(rule)
    db.session.flush()
    log.info("assignment criterion %s created by %s", rule.id, actor.id)
    return rule


def update_rule(rule: AssignmentRule, data: RuleData, actor: User) -> AssignmentRule:
    """Change a criterion; the assignments it made stay counted for its strategy."""
    _apply(rule, data)
    db.session.flush()
    log.info("assignment criterion %s updated by %s", rule.id, actor.id)
    return rule


def set_active(rule: AssignmentRule, active: bool, actor: User) -> AssignmentRule:
    """Activate or deactivate a criterion (inactive ones never match)."""
    if active and _duplicate(rule.partner_kind, rule.type_id, rule.channel_id, rule.province,
                             rule.postal_prefix, rule.id):
        raise ServiceError(str(DUPLICATE), 409)
    rule.active = active
    db.session.flush()
    log.info("assignment criterion %s %s by %s", rule.id, "activated" if active else "deactivated", actor.id)
    return rule


def delete_rule(rule: AssignmentRule, actor: User) -> None:
    """Delete a criterion; the assignments it made stay, without it."""
    log.info("assignment criterion %s deleted by %s", rule.id, actor.id)
    db.session.delete(rule)
    db.session.flush()


def _apply(rule: AssignmentRule, data: RuleData) -> None:
    clean, errors = _clean(data)
    if not errors and data.active and _duplicate(clean["partner_kind"], clean["type_id"], clean["channel_id"],
                                                 clean["province"], clean["postal_prefix"], rule.id):
        errors["conditions"] = str(DUPLICATE)
    if errors:
        raise InvalidData(errors)
    weights = clean.pop("weights")
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.active = bool(data.active)
    kept = {link.company_id: link for link in rule.companies}
    rule.companies = [kept.get(cid) or AssignmentRuleCompany(company_id=cid) for cid in weights]
    for link in rule.companies:
        link.weight = weights[link.company_id]


def _clean(data: RuleData) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    kind = data.partner_kind if data.partner_kind in PARTNER_KINDS else None
    if kind is None:
        errors["partner_kind"] = _("Choose installer or commercial.")
    if data.type_id is not None and db.session.get(OpportunityType, data.type_id) is None:
        errors["type_id"] = _("The chosen opportunity type does not exist.")
    if data.channel_id is not None and db.session.get(Channel, data.channel_id) is None:
        errors["channel_id"] = _("The chosen channel does not exist.")
    province = (data.province or "").strip()
    if len(province) > 60:
        errors["province"] = _("At most %(max)d characters.", max=60)
    prefix = (data.postal_prefix or "").replace(" ", "").upper()
    if prefix and not _PREFIX.match(prefix):
        errors["postal_prefix"] = _("A postal-code prefix is up to 10 letters or digits, e.g. 20 or 201.")
    if data.strategy not in ASSIGNMENT_STRATEGIES:
        errors["strategy"] = _("Choose how the company is picked.")
    weights = _weights(data.companies, kind, errors)
    clean = {"partner_kind": kind, "type_id": data.type_id, "channel_id": data.channel_id,
             "province": province or None, "postal_prefix": prefix or None, "strategy": data.strategy,
             "weights": weights}
    return clean, errors


def _weights(raw: dict[int, str], kind: str | None, errors: dict[str, str]) -> dict[int, int]:
    if not raw:
        errors["companies"] = _("Choose at least one company.")
        return {}
    companies = {c.id: c for c in db.session.execute(
        select(PartnerCompany).where(PartnerCompany.id.in_(list(raw)))).scalars()}
    weights = {}
    for company_id, value in raw.items():
        company = companies.get(company_id)
        if company is None:
            errors["companies"] = _("A chosen company does not exist any more.")
        elif kind and company.kind != kind:
            errors["companies"] = _("%(name)s is not a company of the criterion's kind (%(kind)s).",
                                    name=company.name, kind=PARTNER_KINDS[kind])
        try:
            weight = int(str(value).strip() or "1")
        except ValueError:
            weight = 0
        if not 1 <= weight <= MAX_WEIGHT:
            errors["weights"] = _("Weights are whole numbers from 1 to %(max)d.", max=MAX_WEIGHT)
        weights[company_id] = weight
    return weights


def _duplicate(kind, type_id, channel_id, province, prefix, exclude_id) -> bool:
    """Whether another active criterion has the same conditions (one of the two would never apply)."""
    stmt = select(AssignmentRule).where(AssignmentRule.partner_kind == kind, AssignmentRule.active.is_(True))
    if exclude_id is not None:
        stmt = stmt.where(AssignmentRule.id != exclude_id)
    key = (type_id, channel_id, (province or "").upper(), prefix or "")
    return any((r.type_id, r.channel_id, (r.province or "").upper(), r.postal_prefix or "") == key
               for r in db.session.execute(stmt).scalars())
