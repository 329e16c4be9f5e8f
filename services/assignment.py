"""Assigning opportunities to partner companies by the assignment criteria (SPEC A1, A2, S5), and the
partner's answer.

Which criterion applies: among the active criteria of the partner kind whose every condition holds
for the opportunity (an empty condition holds for any), the most specific wins:

    1. the longest matching postal-code prefix, then
    2. a province, then 3. a channel, then 4. an opportunity type, then 5. none of these ("any");
    equally specific criteria go by the oldest (lowest id).

A criterion none of whose companies can take the opportunity (inactive, of the other kind, or they
already rejected it) is passed over for the next one, as if it were inactive: a deactivated company
means "send it no work", and the broader criteria exist for what no narrower one covers.

How the criterion picks one of its companies — deterministic, from the assignments recorded, so no
counter lives outside the database and a restart changes nothing:

- round robin: the company with the fewest assignments from this criterion; ties go to the one
  whose last assignment is oldest (never assigned first), then the lowest id. Over any number of
  assignments the counts differ by at most one. A company added later catches up first. An
  assignment counts as the company's turn whatever its answer: a company that rejects work was
  offered it, and does not jump the queue for the next one.
- weighted: Balinski and Young's quota method: among the companies still below their share of the
  next assignment (count < (n + 1)·weight / total weight, n the criterion's assignments so far), the
  largest weight / (count + 1). Each company's count stays within one of its exact share
  n·weight / total weight after every assignment, and the turns interleave (2:1 gives A B A A B A…).
- least loaded: the company with the fewest open (pending or accepted) assignments of that kind,
  across all criteria; ties as for round robin.

Rejecting an assignment unassigns the company (the opportunity's installer or commercial becomes
empty), so its users no longer see the opportunity; the assignment row keeps who rejected, when and
why, and the next assignment of that opportunity leaves that company out.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from extensions import db
from models import Assignment, AssignmentRule, AssignmentRuleCompany, Opportunity, PartnerCompany, User
from models.base import utcnow
from models.work import OPEN_ASSIGNMENT
from services import ServiceError, events, notifications
from services.events import AssignmentAnswer

FIELD = {"installer": "installer_id", "commercial": "commercial_id"}


class NoCandidate(ServiceError):
    """No criterion or no company can take the opportunity; the message says why, in plain words."""


@dataclass
class Choice:
    rule: AssignmentRule
    company: PartnerCompany


def _norm(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def rule_matches(rule: AssignmentRule, opp: Opportunity) -> bool:
    """Whether every condition of the criterion holds for the opportunity (empty holds for any)."""
    return (
        (rule.type_id is None or rule.type_id == opp.type_id)
        and (rule.channel_id is None or rule.channel_id == opp.channel_id)
        and (not rule.province or _norm(rule.province) == _norm(opp.province))
        and (not rule.postal_prefix or _norm(opp.postal_code).startswith(_norm(rule.postal_prefix)))
    )


def specificity(rule: AssignmentRule) -> tuple:
    """Sort key, most specific first: prefix length, province, channel, type, then the oldest."""
    return (-len(_norm(rule.postal_prefix)), not rule.province, rule.channel_id is None,
            rule.type_id is None, rule.id)


def matching_rules(opp: Opportunity, partner_kind: str) -> list[AssignmentRule]:
    """The active criteria of this partner kind that apply to the opportunity, most specific first."""
    rules = db.session.execute(
        select(AssignmentRule).where(AssignmentRule.partner_kind == partner_kind,
                                     AssignmentRule.active.is_(True))
    ).scalars()
    return sorted((r for r in rules if rule_matches(r, opp)), key=specificity)


def _rejected_by(opp: Opportunity, partner_kind: str) -> set[int]:
    return set(db.session.execute(
        select(Assignment.company_id).where(Assignment.opportunity_id == opp.id,
                                            Assignment.partner_kind == partner_kind,
                                            Assignment.status == "rejected")
    ).scalars())


def candidates(rule: AssignmentRule, exclude: set[int] = frozenset()) -> list[AssignmentRuleCompany]:
    """The criterion's companies that can take work now: active, of its kind, weight above zero."""
    return [link for link in rule.companies
            if link.company.active and link.company.kind == rule.partner_kind and link.weight > 0
            and link.company_id not in exclude]


def _history(rule: AssignmentRule, ids: list[int]) -> dict[int, tuple[int, int]]:
    """{company id: (assignments from this criterion, id of the last one)}."""
    rows = db.session.execute(
        select(Assignment.company_id, func.count(), func.max(Assignment.id))
        .where(Assignment.rule_id == rule.id, Assignment.company_id.in_(ids))
        .group_by(Assignment.company_id)
    ).all()
    return {company_id: (count, last) for company_id, count, last in rows}


def _open_load(partner_kind: str, ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(Assignment.company_id, func.count())
        .where(Assignment.company_id.in_(ids), Assignment.partner_kind == partner_kind,
               Assignment.status.in_(OPEN_ASSIGNMENT))
        .group_by(Assignment.company_id)
    ).all()
    return dict(rows)


def pick(strategy: str, weights: dict[int, int], counts: dict[int, int], last: dict[int, int],
         load: dict[int, int] | None = None) -> int:
    """The company id a strategy picks, from plain numbers (pure: the property tests drive it)."""
    def tie(cid: int) -> tuple:
        return (last.get(cid, 0), cid)  # never assigned (0) first, then the oldest last assignment

    if strategy == "weighted":  # Balinski and Young's quota method
        n, total = sum(counts.get(c, 0) for c in weights), sum(weights.values())
        # Below its upper quota at n + 1 (never empty: the quotas add up to n + 1 > n).
        eligible = [c for c in weights if counts.get(c, 0) * total < (n + 1) * weights[c]]
        return min(eligible, key=lambda c: (-Fraction(weights[c], counts.get(c, 0) + 1), *tie(c)))
    if strategy == "least_loaded":
        return min(weights, key=lambda c: ((load or {}).get(c, 0), *tie(c)))
    return min(weights, key=lambda c: (counts.get(c, 0), *tie(c)))


def choose(opp: Opportunity, partner_kind: str) -> Choice:
    """The criterion that applies and the company it picks now; NoCandidate says why there is none."""
    rules = matching_rules(opp, partner_kind)
    if not rules:
        raise NoCandidate(_(
            "No active assignment criterion for %(kind)s companies matches this opportunity (type “%(type)s”, "
            "channel “%(channel)s”, province “%(province)s”, postal code “%(postal)s”).",
            kind=_kind_word(partner_kind), type=opp.type.label, channel=opp.channel.name,
            province=opp.province or "—", postal=opp.postal_code or "—"))
    rejected = _rejected_by(opp, partner_kind)
    for rule in rules:
        links = candidates(rule, rejected)
        if not links:
            continue
        # Serialise choices per criterion (PostgreSQL); SQLite serialises every writer anyway.
        db.session.execute(select(AssignmentRule.id).where(AssignmentRule.id == rule.id).with_for_update())
        weights = {link.company_id: link.weight for link in links}
        history = _history(rule, list(weights))
        counts = {cid: count for cid, (count, _last) in history.items()}
        last = {cid: last_id for cid, (_count, last_id) in history.items()}
        load = _open_load(partner_kind, list(weights)) if rule.strategy == "least_loaded" else None
        company_id = pick(rule.strategy, weights, counts, last, load)
        return Choice(rule, db.session.get(PartnerCompany, company_id))
    if rejected:
        raise NoCandidate(_("Every %(kind)s company the matching assignment criteria name is inactive or has "
                            "already rejected this opportunity.", kind=_kind_word(partner_kind)))
    raise NoCandidate(_("The assignment criteria that match this opportunity name no active %(kind)s company.",
                        kind=_kind_word(partner_kind)))


def _kind_word(partner_kind: str) -> str:
    return _("installer") if partner_kind == "installer" else _("commercial")


def current_assignment(opp: Opportunity, partner_kind: str) -> Assignment | None:
    """The open (pending or accepted) assignment of that kind, if any."""
    return db.session.execute(
        select(Assignment).where(Assignment.opportunity_id == opp.id, Assignment.partner_kind == partner_kind,
                                 Assignment.status.in_(OPEN_ASSIGNMENT))
        .order_by(Assignment.id.desc()).limit(1)
    ).scalar_one_or_none()


def assign(opp: Opportunity, partner_kind: str, run_id: int | None = None) -> Assignment:
    """Give the opportunity to the company the criteria pick: set its installer or commercial and record
    a pending assignment, in the caller's transaction. An open assignment to another company is replaced;
    one to the company picked again is kept as it is (and returned)."""
    # Write first: the transaction then holds SQLite's write lock (PostgreSQL: the row) while it counts,
    # so concurrent workers choose one after the other and round robin stays even.
    column = getattr(Opportunity, FIELD[partner_kind])
    db.session.execute(update(Opportunity).where(Opportunity.id == opp.id).values({column: column})
                       .execution_options(synchronize_session=False))
    choice = choose(opp, partner_kind)
    previous = current_assignment(opp, partner_kind)
    if previous is not None and previous.company_id == choice.company.id:
        setattr(opp, FIELD[partner_kind], choice.company.id)
        return previous
    if previous is not None:
        previous.status = "replaced"
    setattr(opp, FIELD[partner_kind], choice.company.id)
    assignment = Assignment(opportunity_id=opp.id, company_id=choice.company.id, partner_kind=partner_kind,
                            rule_id=choice.rule.id, strategy=choice.rule.strategy, status="pending",
                            run_id=run_id, assigned_at=utcnow())
    db.session.add(assignment)
    db.session.flush()
    notifications.assignment_created(assignment)
    return assignment


def assignments_of(opp: Opportunity, user: User) -> list[Assignment]:
    """The opportunity's assignments, newest first; a partner user sees only its own company's."""
    stmt = select(Assignment).where(Assignment.opportunity_id == opp.id).order_by(Assignment.id.desc())
    if user.is_partner:
        stmt = stmt.where(Assignment.company_id == (user.company_id or -1))
    return list(db.session.execute(stmt).scalars())


def may_answer(user: User, assignment: Assignment) -> bool:
    """Only a user of the assigned company answers, while the assignment is pending."""
    return (user.is_partner and user.company_id == assignment.company_id and assignment.status == "pending")


def _answerable(opp: Opportunity, assignment_id: int, user: User) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.opportunity_id != opp.id:
        raise ServiceError(_("This assignment does not exist."), 404)
    if not user.is_partner or user.company_id != assignment.company_id:
        raise ServiceError(_("Only the assigned company can accept or reject this assignment."), 403)
    if assignment.status != "pending":
        raise ServiceError(_("This assignment was already answered: %(status)s.",
                             status=assignment.status_label), 409)
    return assignment


def accept(opp: Opportunity, assignment_id: int, user: User) -> Assignment:
    """The assigned company accepts: recorded with who and when."""
    assignment = _answerable(opp, assignment_id, user)
    assignment.status, assignment.responded_at, assignment.responded_by_id = "accepted", utcnow(), user.id
    db.session.flush()
    events.assignment_accepted.send(assignment, change=AssignmentAnswer(assignment, opp, user, assignment.responded_at))
    return assignment


def reject(opp: Opportunity, assignment_id: int, user: User, reason: str) -> Assignment:
    """The assigned company rejects with a reason: recorded with who and when, and the company is
    unassigned, so its users no longer see the opportunity."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why you reject the assignment."), 422)
    if len(reason) > 1000:
        raise ServiceError(_("At most %(max)d characters.", max=1000), 422)
    assignment = _answerable(opp, assignment_id, user)
    assignment.status, assignment.responded_at, assignment.responded_by_id = "rejected", utcnow(), user.id
    assignment.reason = reason
    field = FIELD[assignment.partner_kind]
    if getattr(opp, field) == assignment.company_id:
        setattr(opp, field, None)
    db.session.flush()
    events.assignment_rejected.send(assignment, change=AssignmentAnswer(assignment, opp, user, assignment.responded_at))
    return assignment
