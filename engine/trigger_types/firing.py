"""What every trigger type does once its event matched a trigger: record the firing as a run and open the
trigger's substate through services.substates, in the event's own transaction — so the substate's on-open
actions follow, and the chain guard, the depth limit and the history cover triggers as they cover actions
(SPEC T1). A trigger never moves an opportunity back in the flow unless it is allowed to."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from extensions import db
from models import OpportunitySubstate, State, Substate, Trigger
from models.runs import ActionRun
from services import ServiceError, flow_versions
from services.events import Chain


def enabled_triggers(kind: str, type_id: int) -> list[Trigger]:
    """The enabled triggers of one type on the live substates of an opportunity type, in flow order, with
    their substate and its state (fire() reads both) loaded by the same query."""
    return list(db.session.execute(
        select(Trigger).join(Substate, Trigger.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .options(contains_eager(Trigger.substate).contains_eager(Substate.state))
        .where(State.type_id == type_id, Trigger.kind == kind, Trigger.enabled.is_(True),
               Substate.archived.is_(False), State.archived.is_(False))
        .order_by(State.position, Substate.position, Trigger.position, Trigger.id)
    ).scalars())


def _where_it_stands(opp_id: int) -> tuple[dict[int, str], list[tuple[int, int]]]:
    """The opportunity's substate statuses by id, and the flow places (state, substate position) that count
    for "moving back": the open substates, or when none is open, every substate it has been through."""
    rows = db.session.execute(
        select(OpportunitySubstate.substate_id, OpportunitySubstate.status, State.position, Substate.position)
        .join(Substate, OpportunitySubstate.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .where(OpportunitySubstate.opportunity_id == opp_id)
    ).all()
    statuses = {sid: status for sid, status, _sp, _p in rows}
    open_places = [(sp, p) for _sid, status, sp, p in rows if status == "open"]
    return statuses, open_places or [(sp, p) for _sid, _status, sp, p in rows]


def _fired_in_chain(chain: Chain, trigger: Trigger, opp_id: int) -> bool:
    if chain.depth == 0:
        return False
    return db.session.execute(
        select(ActionRun.id).where(ActionRun.chain_id == chain.id, ActionRun.trigger_id == trigger.id,
                                   ActionRun.opportunity_id == opp_id).limit(1)
    ).first() is not None


def fire(trigger: Trigger, record_kind: str, opp, *, at: datetime, user, chain: Chain, result: dict) -> ActionRun:
    """Record the trigger's run and, unless a guard stops it, open its substate; the run's status and
    reason say which. `result` names what caused it (e.g. the task and its status change)."""
    from services.substates import open_substate

    sub = trigger.substate
    run = ActionRun(kind=record_kind, trigger_id=trigger.id, opportunity_id=opp.id, substate_id=sub.id,
                    trigger="trigger", config={"name": trigger.name, **(trigger.config or {}),
                                               "as_user_id": trigger.as_user_id, "allow_back": trigger.allow_back},
                    chain_id=chain.id, chain_depth=chain.depth, parent_run_id=chain.parent_run_id,
                    user_id=user.id if user else None, result={**result, "substate_id": sub.id},
                    due_at=at, started_at=at, finished_at=at, attempts=1, sequence=0,
                    has_next=False, config_version=flow_versions.version_of(sub))
    statuses, places = _where_it_stands(opp.id)
    if statuses.get(sub.id) == "open":
        run.status, run.reason = "skipped", "already_open"
    elif not trigger.allow_back and places and (sub.state.position, sub.position) < max(places):
        run.status, run.reason = "skipped", "moving_back"
    elif chain.depth > current_app.config["ENGINE_CHAIN_DEPTH"]:
        run.status, run.error = "failed", "chain_depth"
    elif _fired_in_chain(chain, trigger, opp.id):
        run.status, run.reason = "skipped", "chain_guard"
    else:
        run.status = "succeeded"
    db.session.add(run)
    db.session.flush()
    if run.status == "succeeded":
        try:  # the service checks before it writes: a refusal leaves nothing half done
            open_substate(opp, sub.id, None, chain=Chain.from_run(run), on_behalf_of_id=trigger.as_user_id)
        except ServiceError as err:
            run.status, run.error = "failed", err.message
    return run


def close_by_automation(kind: str, opp, sub: Substate, *, at: datetime, chain: Chain, result: dict,
                        config: dict, outcome: tuple[str, str] | None = None) -> ActionRun:
    """Record a run of `kind` that closes (ticks) `sub` — a process automation's filled field, the last
    linked task done — and close it through services.substates unless the caller already knows the
    outcome (`outcome`: status and reason), the substate is not open, or a guard stops it."""
    from services.substates import close_substate

    run = ActionRun(kind=kind, opportunity_id=opp.id, substate_id=sub.id, trigger="trigger", config=config,
                    chain_id=chain.id, chain_depth=chain.depth, parent_run_id=chain.parent_run_id,
                    user_id=None, result={**result, "substate_id": sub.id}, due_at=at, started_at=at,
                    finished_at=at, attempts=1, sequence=0, has_next=False,
                    config_version=flow_versions.version_of(sub))
    statuses, _places = _where_it_stands(opp.id)
    if outcome and outcome[0] == "succeeded":
        run.status, run.reason = outcome
    elif statuses.get(sub.id) != "open":
        run.status, run.reason = "skipped", "not_open"
    elif outcome:
        run.status, run.reason = outcome
    elif chain.depth > current_app.config["ENGINE_CHAIN_DEPTH"]:
        run.status, run.error = "failed", "chain_depth"
    elif chain.depth and db.session.execute(select(ActionRun.id).where(
            ActionRun.chain_id == chain.id, ActionRun.kind == kind, ActionRun.substate_id == sub.id,
            ActionRun.opportunity_id == opp.id).limit(1)).first() is not None:
        run.status, run.reason = "skipped", "chain_guard"
    else:
        run.status = "succeeded"
    db.session.add(run)
    db.session.flush()
    if run.status == "succeeded" and not outcome:
        try:
            close_substate(opp, sub.id, None, chain=Chain.from_run(run))
        except ServiceError as err:
            run.status, run.error = "failed", err.message
    return run
