"""Run now (SPEC E11): an action, or a substate's on-open actions, run by a person on one opportunity or on
every opportunity of a filtered list. The runs are made by engine.triggers.run_now, as an opening makes
them (order, channel filter, chain), with trigger "manual" and the person on each run. A list is long work
(services.progress): each slice takes the next opportunities by id after the cursor."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from engine import triggers
from engine.kinds import get_kind
from extensions import db
from models import Action, Opportunity, OpportunityType, State, Substate, User
from models.base import utcnow
from models.flow import ACTION_GROUPS
from models.progress import LongJob
from services import ServiceError, progress
from services import opportunities as opp_svc
from services import opportunity_fields as fields_svc
from services.validation import record_id

# Opportunities per step of a list's run: a step's runs are created and committed together.
BATCH = 100


def _id(value) -> int | None:
    """A record id from a form or query, or None when it does not read as one."""
    try:
        return record_id(value) or None
    except ValueError:
        return None


@dataclass
class Target:
    """What runs: one action (`action` set) or a substate's enabled on-open actions."""

    substate: Substate
    actions: list[Action]
    action: Action | None
    label: str

    @property
    def key(self) -> str:
        return f"action:{self.action.id}" if self.action else f"substate:{self.substate.id}"

    @property
    def type_id(self) -> int:
        return self.substate.state.type_id


def action_label(action: Action) -> str:
    """"Send email (Actions on open)": the kind and its group, as the designer names them."""
    kind = get_kind(action.kind)
    return f"{kind.label if kind else action.kind} ({ACTION_GROUPS.get(action.group, action.group)})"


def substate_label(substate: Substate) -> str:
    return _("the on-open actions of “%(name)s”", name=substate.label)


def target_of(key: str | None) -> Target | None:
    """The target a form names ("action:<id>" or "substate:<id>"); None if it does not read or is gone."""
    what, _sep, raw = (key or "").partition(":")
    ident = _id(raw)
    if what == "action" and ident:
        action = db.session.get(Action, ident)
        if action is None or not action.enabled:
            return None
        return Target(action.substate, [action], action, action_label(action))
    if what == "substate" and ident:
        sub = db.session.get(Substate, ident)
        if sub is None or sub.archived:
            return None
        actions = db.session.execute(
            select(Action).options(selectinload(Action.channels))
            .where(Action.substate_id == sub.id, Action.group == "on_open", Action.enabled.is_(True))
            .order_by(Action.position, Action.id)).scalars().all()
        return Target(sub, list(actions), None, substate_label(sub))
    return None


def choices(type_id: int | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The targets offered on a list, grouped by type (only the filtered type's when the list has one)."""
    stmt = (select(OpportunityType).where(OpportunityType.archived.is_(False))
            .options(selectinload(OpportunityType.states).selectinload(State.substates)
                     .selectinload(Substate.actions)))
    if type_id:
        stmt = stmt.where(OpportunityType.id == type_id)
    groups = []
    for opp_type in db.session.execute(stmt).scalars():
        options = []
        for sub in opp_type.substates:
            if sub.archived:
                continue
            if any(a.group == "on_open" and a.enabled for a in sub.actions):
                options.append((f"substate:{sub.id}", f"{sub.label}: {substate_label(sub)}"))
            options += [(f"action:{a.id}", f"{sub.label}: {action_label(a)}") for a in sub.actions if a.enabled]
        if options:
            groups.append((opp_type.label, options))
    return groups


def run_on_one(opp: Opportunity, target: Target, user: User) -> list:
    """Run the target on one opportunity now; refused (409) when no action of it is for this opportunity."""
    if target.type_id != opp.type_id:
        raise ServiceError(_("This action belongs to another type of opportunity."), 409)
    runs = triggers.run_now(target.actions, opp, target.substate, user, utcnow())
    if not runs:
        raise ServiceError(_("Nothing to run: the action is not for this opportunity's channel."), 409)
    return runs


def _filters(args: MultiDict) -> opp_svc.OpportunityFilters:
    """The list's filters from its query (as the list reads them); ServiceError if a field filter does not read."""
    filters, errors = opp_svc.filters_from(args, fields_svc.list_fields(_id(args.get("type"))))
    if errors:
        raise ServiceError(next(iter(errors.values())), 422)
    return filters


def _matching(args: MultiDict, target: Target, user: User):
    """The list's opportunities the user sees, of the target's type (an action runs only in its own flow)."""
    return (opp_svc.search(_filters(args), user).where(Opportunity.type_id == target.type_id)
            .order_by(None))


def count(args: MultiDict, target: Target, user: User) -> int:
    """How many opportunities the confirmation names."""
    return db.session.execute(select(func.count()).select_from(_matching(args, target, user).subquery())).scalar_one()


def start_on_list(args: MultiDict, target: Target, user: User) -> LongJob:
    """Queue the run over the list as long work; the caller commits, then the worker takes it."""
    total = count(args, target, user)
    params = {"target": target.key, "args": args.to_dict(flat=False), "locale": str(get_locale() or "en")}
    return progress.start("run_now", user, params, total)


def _work(job: LongJob) -> bool:
    """One step: the next BATCH opportunities by id after the cursor, each run in its own chain."""
    target = target_of(job.params["target"])
    if target is None:
        raise LookupError("the action or substate was deleted or disabled meanwhile")
    with force_locale(job.params.get("locale") or "en"):
        stmt = _matching(MultiDict(job.params["args"]), target, job.user)
    batch = db.session.execute(stmt.where(Opportunity.id > job.cursor).order_by(Opportunity.id)
                               .limit(BATCH)).scalars().all()
    made = dict(job.result or {})
    for opp in batch:
        runs = triggers.run_now(target.actions, opp, target.substate, job.user, utcnow())
        made["runs"] = made.get("runs", 0) + len(runs)
        key = "opportunities" if runs else "not_for_channel"
        made[key] = made.get(key, 0) + 1
    if batch:
        job.cursor = batch[-1].id
        job.done = min(job.total, job.done + len(batch)) if job.total else job.done + len(batch)
    job.result = made
    return len(batch) == BATCH


def _describe(job: LongJob) -> str:
    made = job.result or {}
    text = ngettext("%(num)d run created", "%(num)d runs created", made.get("runs", 0))
    text += " · " + ngettext("%(num)d opportunity", "%(num)d opportunities", made.get("opportunities", 0))
    if made.get("not_for_channel"):
        text += " · " + ngettext("%(num)d not for the action's channels", "%(num)d not for the action's channels",
                                 made["not_for_channel"])
    return text


def _back(job: LongJob) -> str | None:
    return url_for("opportunities.index", **job.params.get("args", {}))


progress.register(progress.Kind(key="run_now", label=_l("Run now on a list"), work=_work, describe=_describe,
                                back_url=_back))
