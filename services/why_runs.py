"""Why did it (not) run? For each automatic action of an opportunity's substates: the runs it made on the
opportunity (with the reason a run was skipped or cancelled), or why it made none (issue 14 item 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine import triggers
from extensions import db
from models import Action, ActionRun, Opportunity, OpportunitySubstate, Substate, SubstateEvent, User
from services import substates as substate_svc
from services.run_now import action_label

# Runs shown per action, newest first (the history has them all).
RUNS_SHOWN = 5


@dataclass
class ActionWhy:
    action: Action
    label: str
    # (run, who started it by hand or None), newest first.
    runs: list[tuple[ActionRun, str | None]] = field(default_factory=list)
    why_none: str | None = None
    # Run now is offered (E11): the action is enabled and for this opportunity's channel.
    may_run: bool = False


@dataclass
class SubstateWhy:
    substate: Substate
    status: str | None
    actions: list[ActionWhy]
    has_on_open: bool


def _last_event(events: list[SubstateEvent], substate_id: int, kind: str) -> datetime | None:
    """The latest opening (or closing): an action added before it would have made a run then."""
    times = [e.at for e in events if e.substate_id == substate_id and e.event == kind]
    return max(times) if times else None


def _why_none(action: Action, opp: Opportunity, opened: datetime | None, closed: datetime | None) -> str:
    """The reason an action made no run on the opportunity, from what is recorded."""
    starts = closed if action.group == "on_close" else opened
    if starts is None:
        if action.group == "on_close":
            return _("The substate has not been closed on this opportunity.")
        return _("The substate has not been opened on this opportunity.")
    if action.created_at and action.created_at > starts:
        return _("The action was added after the substate opened.") if action.group != "on_close" else \
            _("The action was added after the substate closed.")
    if not action.enabled:
        return _("The action is disabled.")
    if not triggers._applies(action, opp):
        return _("Not for this opportunity's channel.")
    return _("The action was disabled or not yet saved this way when the substate changed.")


def explain(opp: Opportunity) -> list[SubstateWhy]:
    """Each substate of the opportunity's flow that has actions, with each action's runs or why none."""
    subs = [row for _state, rows in substate_svc.flow_of(opp) for row in rows]
    ids = [row.substate.id for row in subs]
    actions = db.session.execute(
        select(Action).options(selectinload(Action.channels)).where(Action.substate_id.in_(ids or [-1]))
        .order_by(Action.substate_id, Action.group, Action.position, Action.id)).scalars().all()
    runs = db.session.execute(
        select(ActionRun).options(selectinload(ActionRun.after_run))
        .where(ActionRun.opportunity_id == opp.id, ActionRun.action_id.in_([a.id for a in actions] or [-1]))
        .order_by(ActionRun.id.desc())).scalars().all()
    events = db.session.execute(select(SubstateEvent).where(SubstateEvent.opportunity_id == opp.id)).scalars().all()
    user_ids = {r.user_id for r in runs if r.trigger == "manual" and r.user_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    by_action: dict[int, list[tuple[ActionRun, str | None]]] = {}
    for run in runs:
        by_action.setdefault(run.action_id, []).append((run, names.get(run.user_id) if run.trigger == "manual" else None))
    out = []
    for row in subs:
        sub = row.substate
        record: OpportunitySubstate | None = row.record
        opened = _last_event(events, sub.id, "opened") or (record.opened_at if record else None)
        closed = _last_event(events, sub.id, "closed") or (record.closed_at if record else None)
        items = []
        for action in (a for a in actions if a.substate_id == sub.id):
            made = by_action.get(action.id, [])
            items.append(ActionWhy(action, action_label(action), made[:RUNS_SHOWN],
                                   None if made else _why_none(action, opp, opened, closed),
                                   action.enabled and triggers._applies(action, opp)))
        if items:
            out.append(SubstateWhy(sub, record.status if record else None, items,
                                   any(i.may_run and i.action.group == "on_open" for i in items)))
    return out
