"""Dry run of a substate change (SPEC D11): what opening or closing a substate would set off — every run in
order, when, why some would not run, the chained effects, the companies picked, the emails rendered —
without any side effect.

Honest by construction: the real service opens or closes the substate and the real engine creates and
executes the runs (engine.dry_run), all in one transaction rolled back at the end, with runs held off the
queue, emails built but kept, files named but not written, and commits refused. The tree is read from the
run rows before the rollback. The one trace left is on PostgreSQL: id sequences do not go back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from engine import dry_run as engine_dry_run
from engine.kinds import Lookup, get_kind
from extensions import db
from models import (
    Action,
    AssignmentRule,
    Channel,
    Customer,
    Opportunity,
    OpportunitySubstate,
    OpportunityType,
    State,
    Substate,
    User,
)
from models.base import utcnow
from models.runs import FINAL_STATUSES, RUN_STATUSES, ActionRun
from models.webhooks import WebhookDelivery
from services import ServiceError, substates
from services.access import visible_opportunities
from services.events import Chain
from services.history.runs_query import kind_label

EVENTS = ("open", "close")
# A safety stop for the runs one dry run executes (the chain depth limit stops loops long before).
MAX_RUNS = 2000
_prev = aliased(ActionRun, name="dry_prev_run")


@dataclass
class Email:
    to: str
    name: str
    role: str
    language: str
    subject: str
    text: str


@dataclass
class Step:
    """One node of the tree: a run (or a disabled action) with what it would do and what it sets off."""

    kind: str
    summary: str
    substate: str
    group: str
    status: str
    when: datetime | None = None  # None: at once
    reason: str | None = None
    details: list[str] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    children: list[Step] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return dry_label(self.status)


# A dry run runs nothing: what the real run would end as reads as a conditional (other statuses are the runs').
DRY_LABELS = {"succeeded": _l("Would run"), "failed": _l("Would fail")}


def dry_label(status: str) -> str:
    return str(DRY_LABELS.get(status) or RUN_STATUSES.get(status, status))


@dataclass
class DryRun:
    opportunity: str
    sample: bool
    substate: str
    event: str
    at: datetime
    steps: list[Step]
    cancelled: list[Step]
    webhooks: int
    counts: dict[str, int]

    @property
    def count_rows(self) -> list[tuple[str, str, int]]:
        """(status, label, how many runs) for the summary line."""
        return [(s, dry_label(s), n) for s, n in sorted(self.counts.items())]


def recent_opportunities(opp_type: OpportunityType, limit: int = 50) -> list[tuple[int, str]]:
    """The type's newest opportunities to choose from in the designer (within what `scope` allows)."""
    rows = db.session.execute(select(Opportunity.id, Opportunity.name).where(Opportunity.type_id == opp_type.id)
                              .order_by(Opportunity.id.desc()).limit(limit)).all()
    return [(i, f"#{i} {name}") for i, name in rows]


def opportunity_of_type(opp_type: OpportunityType, opportunity_id: int | None, user: User) -> Opportunity:
    """An opportunity of this type the user may see, by id (the designer's choice), or a 404 ServiceError."""
    opp = db.session.execute(visible_opportunities(user).where(Opportunity.id == opportunity_id)
                             ).scalar_one_or_none() if isinstance(opportunity_id, int) else None
    if opp is None or opp.type_id != opp_type.id:
        raise ServiceError(_("Choose an opportunity of this type."), 404)
    return opp


def substate_of(opp: Opportunity, substate_id: int | None) -> Substate:
    """A substate of the opportunity's type (the opportunity page's choice), or a 404 ServiceError."""
    sub = db.session.get(Substate, substate_id) if isinstance(substate_id, int) else None
    if sub is None or sub.state.type_id != opp.type_id:
        raise ServiceError(_("This substate does not belong to the flow of this opportunity."), 404)
    return sub


def substate_choices(opp_type: OpportunityType) -> list[tuple[str, list[tuple[int, str]]]]:
    """The type's live substates by state, for the opportunity page's select."""
    return [(state.label, [(s.id, s.label) for s in state.substates if not s.archived])
            for state in opp_type.states if not state.archived and any(not s.archived for s in state.substates)]


def simulate(opp_type: OpportunityType, substate: Substate, event: str, user: User,
             opportunity: Opportunity | None = None) -> DryRun:
    """Open or close `substate` of `opportunity` (None: a sample opportunity of the type) in a dry run and
    return the tree of what would happen; nothing is kept (the session is rolled back)."""
    if event not in EVENTS:
        raise ServiceError(_("Choose whether the substate opens or closes."), 422)
    if substate.state.type_id != opp_type.id:
        raise ServiceError(_("This substate does not belong to the flow of this opportunity."), 404)
    if opportunity is not None and opportunity.type_id != opp_type.id:
        raise ServiceError(_("Choose an opportunity of this type."), 404)
    try:
        with engine_dry_run.simulating() as collected:
            return _simulate(opp_type, substate, event, user, opportunity, collected)
    finally:
        db.session.rollback()


def _simulate(opp_type, substate, event, user, opportunity, collected) -> DryRun:
    start = utcnow()
    last_delivery = db.session.execute(select(func.max(WebhookDelivery.id))).scalar() or 0
    opp = opportunity or _sample(opp_type, user)
    label = opp.name  # the sample's is "Sample opportunity"
    if opportunity is None and event == "close":  # the sample stands in the substate before it closes
        db.session.add(OpportunitySubstate(opportunity_id=opp.id, substate_id=substate.id, status="open",
                                           opened_at=start))
    chain = Chain()
    if event == "open":
        substates.open_substate(opp, substate.id, None, chain=chain, on_behalf_of_id=user.id)
    else:
        substates.close_substate(opp, substate.id, None, chain=chain)
    _drain(chain.id)
    runs = db.session.execute(select(ActionRun).options(selectinload(ActionRun.substate), selectinload(ActionRun.action))
                              .where(ActionRun.chain_id == chain.id).order_by(ActionRun.id)).scalars().all()
    disabled = _disabled_actions(opp_type)
    steps = tree_of(runs, collected, disabled)
    steps = _disabled_steps(disabled, substate.id, event) + steps
    cancelled = db.session.execute(select(ActionRun).where(
        ActionRun.opportunity_id == opp.id, ActionRun.status == "cancelled", ActionRun.reason == "closed_before_due",
        ActionRun.finished_at >= start).order_by(ActionRun.id)).scalars().all()
    webhooks = db.session.execute(select(func.count(WebhookDelivery.id))
                                  .where(WebhookDelivery.id > last_delivery)).scalar() or 0
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    return DryRun(opportunity=label, sample=opportunity is None, substate=substate.label, event=event, at=start,
                  steps=steps, cancelled=[_step(r, collected, Lookup()) for r in cancelled], webhooks=webhooks, counts=counts)


def _sample(opp_type: OpportunityType, user: User) -> Opportunity:
    """A made-up opportunity of the type (rolled back with the rest): a client writing in the user's
    language, the first active channel (or a made-up one), the user as owner."""
    channel = db.session.execute(select(Channel).where(Channel.active.is_(True)).order_by(Channel.id).limit(1)
                                 ).scalar_one_or_none() or Channel(name=_("Sample channel"))
    customer = Customer(name=_("Sample client"), email="sample.client@example.com",
                        language=(user.language or "it")[:2])
    opp = Opportunity(name=_("Sample opportunity"), type_id=opp_type.id, channel=channel, customer=customer,
                      owner_id=user.id)
    db.session.add(opp)
    db.session.flush()
    return opp


def _drain(chain_id: str) -> None:
    """Execute the chain's runs that are due now, in order, until none is left (scheduled ones wait)."""
    ready = select(ActionRun).where(
        ActionRun.chain_id == chain_id, ActionRun.status == "pending",
        or_(ActionRun.after_run_id.is_(None),
            exists().where(_prev.id == ActionRun.after_run_id, _prev.status.in_(FINAL_STATUSES))),
    ).order_by(ActionRun.id).limit(1)
    for _i in range(MAX_RUNS):
        run = db.session.execute(ready).scalar_one_or_none()
        if run is None:
            return
        engine_dry_run.execute(run)


def _disabled_actions(opp_type: OpportunityType) -> dict[tuple[int, str], list[Action]]:
    rows = db.session.execute(
        select(Action).join(Substate, Action.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .where(State.type_id == opp_type.id, Action.enabled.is_(False)).order_by(Action.position, Action.id)
    ).scalars()
    out: dict[tuple[int, str], list[Action]] = {}
    for action in rows:
        out.setdefault((action.substate_id, action.group), []).append(action)
    return out


def _disabled_steps(disabled, substate_id: int, event: str) -> list[Step]:
    """The disabled actions an opening (on open, scheduled) or a closing (on close) of a substate passes over."""
    groups = ("on_open", "scheduled") if event == "open" else ("on_close",)
    return [Step(kind=kind_label(a.kind), summary=_summary(a.kind, a.config), substate=a.substate.label,
                 group=a.group, status="skipped", reason=_("The action is disabled."))
            for g in groups for a in disabled.get((substate_id, g), [])]


def tree_of(runs: list[ActionRun], collected=None, disabled=None) -> list[Step]:
    """The runs as a tree (children: what a run set off), each level in the configured order: the runs
    of a group by position, then the scheduled ones. Ids do not give that order: a flush inserts the runs
    that wait for none before those that wait for one."""
    collected, disabled = collected or engine_dry_run.Collector(), disabled or {}
    lookup = Lookup()  # one for the whole tree: it loads each referenced table once
    by_id = {r.id: _step(r, collected, lookup) for r in runs}
    roots: list[tuple] = []
    children: dict[int, list[tuple]] = {}
    for run in runs:
        key = (run.trigger == "scheduled", run.sequence or 0, run.id)
        siblings = children.setdefault(run.parent_run_id, []) if run.parent_run_id in by_id else roots
        siblings.append((key, by_id[run.id]))
    for run in runs:
        step = by_id[run.id]
        changed = _changed(run)
        if changed:  # the substate this run opened or closed: the disabled actions it passes over come first
            step.children.extend(_disabled_steps(disabled, *changed))
        step.children.extend(s for _k, s in sorted(children.get(run.id, []), key=lambda item: item[0]))
    return [s for _k, s in sorted(roots, key=lambda item: item[0])]


def _changed(run: ActionRun) -> tuple[int, str] | None:
    if run.status != "succeeded":
        return None
    result = run.result or {}
    if run.kind in ("open_substate", "close_substate") and result.get("substate_id"):
        return result["substate_id"], result.get("change", "open")
    if run.kind.startswith("trigger_") and run.substate_id:
        return run.substate_id, "open"
    if run.kind == "process_automation" and run.substate_id and result.get("direction") == "field_closes":
        return run.substate_id, "close"
    return None


def _summary(kind_key: str, config: dict, lookup: Lookup | None = None) -> str:
    kind = get_kind(kind_key)
    return kind.summary(config or {}, lookup or Lookup()) if kind else (config or {}).get("name", "")


def _config_now(run: ActionRun) -> dict:
    """The run's settings with each text's placeholders filled as they read now for its opportunity, so the
    summary speaks of this opportunity (a waiting run fills them again when it runs); a text that cannot be
    filled stays as configured. Filled before the summary shortens the text, which could cut a placeholder."""
    from engine import render

    config = dict(run.config or {})
    for key, text in config.items():
        if isinstance(text, str) and "{{" in text:
            try:
                config[key] = render.render(text, render.context(run.opportunity, sources=[text]), html=False)
            except render.RENDER_ERRORS:
                pass
    return config


def _step(run: ActionRun, collected, lookup: Lookup | None = None) -> Step:
    result = run.result or {}
    step = Step(kind=kind_label(run.kind), summary=_summary(run.kind, _config_now(run), lookup), group=run.trigger,
                substate=run.substate.label if run.substate else "", status=run.status,
                when=run.due_at if run.status == "scheduled" else None)
    step.reason = run.reason_text or run.error_text
    if run.status == "failed" and run.action is not None:
        step.details += [str(m) for m in _missing(run)]
    if result.get("would_retry"):
        step.details.append(_("A real run would try again later."))
    if result.get("company"):
        step.details.append(_assignment_why(result))
    kind = get_kind(run.kind)
    if run.status == "succeeded" and kind is not None:
        step.details += kind.dry_details(run)
    if result.get("signer"):
        step.details.append(_("Signature requested from %(who)s (%(lang)s): %(doc)s", who=result["signer"],
                              lang=result.get("language", ""), doc=result.get("document", "")))
    roles = {e.get("to"): e.get("role", "") for e in result.get("emails") or []}
    step.emails = [Email(to=letter.to, name=letter.to_name, role=roles.get(letter.to, ""), language=letter.language,
                         subject=letter.subject, text=letter.text) for letter in collected.letters.get(run.id, [])]
    step.files = list(collected.files.get(run.id, []))
    return step


def _missing(run: ActionRun) -> list:
    kind = get_kind(run.kind)
    return kind.prerequisites(run.action.substate) if kind and run.action else []


def _assignment_why(result: dict) -> str:
    """Which company the criteria pick and why: the criterion that matched and its strategy."""
    rule = db.session.get(AssignmentRule, result.get("rule_id") or 0)
    if rule is None:
        return _("Assigned to %(company)s.", company=result["company"])
    where = [w for w in (rule.type.label if rule.type else None, rule.channel.name if rule.channel else None,
                         rule.province, rule.postal_prefix and rule.postal_prefix + "…") if w]
    return _("Assigned to %(company)s: criterion #%(id)s (%(where)s), strategy “%(strategy)s”.",
             company=result["company"], id=rule.id, where=", ".join(where) or _("any opportunity"),
             strategy=rule.strategy_label)


__all__ = ["EVENTS", "DryRun", "Email", "Step", "tree_of", "opportunity_of_type", "recent_opportunities", "simulate", "substate_choices",
           "substate_of"]
