"""Substate opened or closed -> ActionRun rows, in the caller's transaction (SPEC E1, E3, E4, E5): the
engine's subscriber to services.events."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import selectinload

from engine import dispatch
from engine.calendar import NoWorkingDay, next_working_moment, region_of
from extensions import db
from models import Action, Opportunity, Substate, User
from models.runs import WAITING_STATUSES, ActionRun
from services import events, flow_versions
from services.events import Chain, SubstateChange

# "seconds" is not offered in the designer; tests use it for short delays.
_UNIT = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def delay_of(action: Action) -> timedelta:
    return timedelta(seconds=(action.delay_amount or 0) * _UNIT.get(action.delay_unit or "minutes", 60))


def _applies(action: Action, opp: Opportunity) -> bool:
    """The channel filter (E4): no channels chosen means every channel."""
    return not action.channels or any(c.id == opp.channel_id for c in action.channels)


def _actions_in_chain(chain: Chain, opp: Opportunity) -> set[int]:
    """The actions that already ran (or wait) in this chain on the opportunity: the chain guard (E5) skips
    them. One statement for the whole group, not one per action."""
    if chain.depth == 0:
        return set()
    return set(db.session.execute(
        select(ActionRun.action_id).where(ActionRun.chain_id == chain.id, ActionRun.opportunity_id == opp.id)
        .distinct()).scalars())


def _new_run(action: Action, opp: Opportunity, substate: Substate, trigger: str, chain: Chain,
             user: User | None, due_at: datetime, sequence: int) -> ActionRun:
    return ActionRun(has_next=False, action=action, opportunity_id=opp.id, substate_id=substate.id, kind=action.kind,
                     config=dict(action.config or {}), trigger=trigger, due_at=due_at, sequence=sequence,
                     chain_id=chain.id, chain_depth=chain.depth, parent_run_id=chain.parent_run_id,
                     user_id=user.id if user else None, result={}, attempts=0,
                     config_version=flow_versions.version_of(substate))


def _immediate_runs(actions: list[Action], opp, substate, trigger, chain, user, now) -> list[ActionRun]:
    """Runs of one group, in the configured order, each waiting for the one before it."""
    runs, previous = [], None
    max_depth = current_app.config["ENGINE_CHAIN_DEPTH"]
    in_chain = _actions_in_chain(chain, opp) if actions and chain.depth <= max_depth else set()
    for seq, action in enumerate(actions):
        run = _new_run(action, opp, substate, trigger, chain, user, now, seq)
        if not _applies(action, opp):
            run.status, run.reason = "skipped", "channel"
        elif chain.depth > max_depth:
            run.status, run.error = "failed", "chain_depth"
        elif action.id in in_chain:
            run.status, run.reason = "skipped", "chain_guard"
        else:
            run.status = "pending"
            run.after_run = previous
            if previous is not None:
                previous.has_next = True
            previous = run
        if run.is_final:
            run.finished_at = now
        runs.append(run)
    return runs


def due_of(action: Action, opp: Opportunity, opened_at: datetime) -> datetime | None:
    """When a scheduled action falls due for a substate opened at `opened_at`: after its delay, moved into
    the responsible user's working hours if the action asks; None when the calendar has no working day."""
    due = opened_at + delay_of(action)
    if action.respect_working_hours:
        try:
            due = next_working_moment(due, opp.owner, region_of(opp))
        except NoWorkingDay:
            return None
    return due


def _scheduled_runs(actions: list[Action], opp, substate, chain, user, opened_at) -> list[ActionRun]:
    runs = []
    for seq, action in enumerate(actions):
        due = due_of(action, opp, opened_at)
        # No working day to put it in: a person decides.
        due, review = (opened_at + delay_of(action), True) if due is None else (due, False)
        run = _new_run(action, opp, substate, "scheduled", chain, user, due, seq)
        if not _applies(action, opp):
            run.status, run.reason, run.finished_at = "skipped", "channel", opened_at
        elif review:
            run.status, run.reason, run.finished_at = "needs_review", "no_working_day", opened_at
        else:
            run.status = "scheduled"
        runs.append(run)
    return runs


def cancel_scheduled(opp: Opportunity, substate: Substate, at: datetime) -> int:
    """Closing a substate cancels its scheduled runs that are not yet running (E3)."""
    result = db.session.execute(
        update(ActionRun)
        .where(ActionRun.opportunity_id == opp.id, ActionRun.substate_id == substate.id,
               ActionRun.trigger == "scheduled", ActionRun.status.in_(WAITING_STATUSES))
        .values(status="cancelled", finished_at=at, reason="closed_before_due")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# Built once with a bind parameter: this runs for every opening and closing.
_ENABLED_ACTIONS = (
    select(Action).options(selectinload(Action.channels))
    .where(Action.substate_id == bindparam("substate_id"), Action.makes_runs())
    .order_by(Action.position, Action.id)
)


def substate_event(opp: Opportunity, substate: Substate, event: str, at: datetime, user: User | None,
                   chain: Chain | None = None, actions: list[Action] | None = None) -> list[ActionRun]:
    """Create the runs an opening or closing calls for; they are enqueued after the commit. `actions`: the
    substate's actions that make runs, in order, when the caller has read them already."""
    chain = chain or Chain()
    enabled = actions if actions is not None else \
        db.session.execute(_ENABLED_ACTIONS, {"substate_id": substate.id}).scalars().all()
    if event == "opened":
        immediate = _immediate_runs([a for a in enabled if a.group == "on_open"], opp, substate, "on_open",
                                    chain, user, at)
        runs = immediate + _scheduled_runs([a for a in enabled if a.group == "scheduled"], opp, substate,
                                           chain, user, at)
    else:
        cancel_scheduled(opp, substate, at)
        runs = _immediate_runs([a for a in enabled if a.group == "on_close"], opp, substate, "on_close",
                               chain, user, at)
    db.session.add_all(runs)
    db.session.flush()
    # Only the first of each ordered group goes now; the others follow as each one finishes.
    dispatch.enqueue_after_commit([r for r in runs if r.status == "pending" and r.after_run_id is None])
    return runs


def run_now(actions: list[Action], opp: Opportunity, substate: Substate, user: User | None,
            at: datetime) -> list[ActionRun]:
    """A person runs these actions on the opportunity now (E11): runs in their order, as an opening's, with
    trigger "manual" and the person on each; a disabled action or one not for its channel makes no run."""
    wanted = [a for a in actions if a.enabled and _applies(a, opp)]
    runs = _immediate_runs(wanted, opp, substate, "manual", Chain(), user, at)
    if runs:
        db.session.add_all(runs)
        db.session.flush()
        dispatch.enqueue_after_commit([r for r in runs if r.status == "pending" and r.after_run_id is None])
    return runs


def _on_opened(opp: Opportunity, change: SubstateChange) -> None:
    substate_event(opp, change.substate, "opened", change.at, change.user, change.chain, change.actions)


def _on_closed(opp: Opportunity, change: SubstateChange) -> None:
    substate_event(opp, change.substate, "closed", change.at, change.user, change.chain, change.actions)


def subscribe() -> None:
    """Listen to substates opening and closing (called by create_app; connecting twice is harmless)."""
    events.substate_opened.connect(_on_opened, weak=False)
    events.substate_closed.connect(_on_closed, weak=False)
    from services import auto_pause

    auto_pause.subscribe()  # E10: an action failing N times in a row pauses itself (left out above)
