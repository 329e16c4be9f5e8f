"""Replaying the demo's past through the real services and the engine, step by step in time order.

The demo's opportunities went through their flows over the last months. Each step (a substate opened or
closed by its owner) goes through services.substates, so the engine's triggers create the runs of the
flow's automatic actions; the replay then executes every run due by that moment with the engine's own
executor — claim, execute the kind, record the outcome, release the next — exactly what a worker's job
does. Services and engine write the real clock; after each step and each run the replay moves the
timestamps written since back to the moment in the demo's past, so scheduled actions fall due, get
cancelled by a close, or are still waiting, as they would have.

Nothing is put on the Redis queue while replaying (`make run` loads the demo before it starts Redis):
what is still waiting at the end — scheduled actions due later, emails waiting to be retried — is left
with no job, and the worker's sweeper, which goes by the database, enqueues it when due.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from engine import dispatch, executor
from extensions import db
from models import (
    ActionRun,
    Activity,
    Assignment,
    CustomField,
    FieldValue,
    HistoryEntry,
    Notification,
    Opportunity,
    OpportunitySubstate,
    OutgoingEmail,
    SubstateEvent,
    Task,
    TaskStatusChange,
    User,
)
from models.base import utcnow
from models.runs import WAITING_STATUSES
from services import activities, assignment, substates

# The timestamps the services and the engine write with the real clock, never later than now (a run's due
# time, which may be, is handled apart).
CLOCKS = [
    (ActionRun, ("created_at", "enqueued_at", "started_at", "finished_at")),
    (Activity, ("created_at", "completed_at")),
    (Assignment, ("assigned_at", "responded_at")),
    (Notification, ("created_at",)),
    (SubstateEvent, ("at",)),
    (OpportunitySubstate, ("opened_at", "closed_at")),
    (OutgoingEmail, ("created_at", "sent_at")),
    (Task, ("created_at", "status_changed_at")),
    (TaskStatusChange, ("at",)),
    (HistoryEntry, ("created_at",)),
    (FieldValue, ("updated_at",)),
]

# What opening or closing a substate writes itself (the runs it creates or cancels; not what they do).
SUBSTATE_CLOCKS = [c for c in CLOCKS if c[0] in (ActionRun, SubstateEvent, OpportunitySubstate)]


@dataclass(order=True)
class Step:
    """A person opening or closing a substate at a moment in the demo's past."""

    at: datetime
    opportunity_id: int
    event: str  # "open" | "close" | "task" (complete the automation's task: its trigger opens the substate)
    substate_id: int


def backdate(since: datetime, moment: datetime, clocks=CLOCKS) -> None:
    """Move every timestamp written at or after `since` (real clock) back to `moment`, keeping the gaps.
    In Python rather than SQL: date arithmetic is not portable between SQLite and PostgreSQL."""
    delta = since - moment
    # A due time may lie in the future, so "written since" is told by the run itself: created now, or run
    # now and back to waiting (a retry's due time).
    for run in db.session.execute(select(ActionRun).where(or_(
            ActionRun.created_at >= since,
            and_(ActionRun.started_at >= since, ActionRun.status.in_(WAITING_STATUSES))))).scalars():
        run.due_at -= delta
    # Likewise a deadline or a meeting time set now, relative to now (a task, a scheduled activity).
    for task in db.session.execute(select(Task).where(Task.created_at >= since, Task.deadline.is_not(None))).scalars():
        task.deadline -= delta
    for activity in db.session.execute(select(Activity).where(Activity.created_at >= since,
                                                              Activity.due_at.is_not(None))).scalars():
        activity.due_at -= delta
    for model, names in clocks:
        touched = or_(*(getattr(model, name) >= since for name in names))
        for row in db.session.execute(select(model).where(touched)).scalars():
            for name in names:
                value = getattr(row, name)
                if value is not None and value >= since:
                    setattr(row, name, value - delta)


def at(moment: datetime, change: Callable[[], object], clocks=CLOCKS, commit: bool = True) -> datetime:
    """Do `change` as if at `moment`, and commit (or only flush: the next run's claim commits it);
    `clocks`: the tables it may write, if fewer than all. Returns the moment it ended (moment + the real
    time it took), so the replay's clock never runs backwards."""
    since = utcnow()
    change()
    db.session.flush()
    backdate(since, moment, clocks)
    if commit:
        db.session.commit()
    return moment + (utcnow() - since)


class Clock:
    """The replay's time: each change happens at its moment, or when the one before it ended if that is
    later — one worker doing one thing at a time, so a run created later is never dated earlier (a run due
    1 ms after one that took 4 ms to execute starts after it, as it would have)."""

    def __init__(self) -> None:
        self.now = datetime.min

    def at(self, moment: datetime, change: Callable[[], object], clocks=CLOCKS, commit: bool = True) -> None:
        self.now = at(max(moment, self.now), change, clocks, commit)


def drain(until: datetime, clock: Clock, after_id: int = 0) -> int:
    """Execute every run due by `until` with an id above `after_id` (the demo's own: runs already in the
    database belong to someone else), oldest due first, each as if at its due time; returns how many."""
    done = 0
    while True:
        row = db.session.execute(
            select(ActionRun.id, ActionRun.due_at).where(dispatch.ready_clause(until), ActionRun.id > after_id)
            .order_by(ActionRun.due_at, ActionRun.id).limit(1)
        ).first()
        if row is None:
            return done
        clock.at(row.due_at, lambda run_id=row.id: executor.execute(run_id))
        done += 1


def replay(steps: list[Step], now: datetime) -> int:
    """Take every step in time order, executing the runs due in between; returns how many runs ran."""
    ran, clock = 0, Clock()
    floor = db.session.execute(select(func.coalesce(func.max(ActionRun.id), 0))).scalar_one()
    with dispatch.held():
        for step in sorted(steps):
            ran += drain(step.at, clock, floor)
            opp = db.session.get(Opportunity, step.opportunity_id)
            if step.event == "task":
                clock.at(step.at, lambda opp=opp, step=step: _complete_task(opp, step.substate_id), commit=False)
                continue
            if step.event == "field":
                clock.at(step.at, lambda opp=opp: _fill_field(opp), commit=False)
                continue
            change = substates.open_substate if step.event == "open" else substates.close_substate
            clock.at(step.at, lambda opp=opp, change=change, step=step: change(opp, step.substate_id, opp.owner),
                     SUBSTATE_CLOCKS, commit=False)
        ran += drain(now, clock, floor)
    # What still waits has no job on any queue: let the sweeper see it as never enqueued.
    db.session.execute(update(ActionRun).where(ActionRun.status.in_(WAITING_STATUSES), ActionRun.id > floor)
                       .values(enqueued_at=None, job_id=None).execution_options(synchronize_session=False))
    db.session.commit()
    return ran


def _fill_field(opp: Opportunity) -> None:
    """The owner writes the POD code: the process automation ticks "Convalida documentazione"."""
    from services import demo_process, field_values

    field = db.session.execute(select(CustomField).where(CustomField.key == "pod_code")).scalar_one()
    field_values.set_value(opp, f"custom:{field.id}", demo_process.pod_code(opp.id), opp.owner)


def _complete_task(opp: Opportunity, substate_id: int) -> None:
    """The owner completes the task automation gave them in the substate before `substate_id`; the trigger on
    `substate_id` then opens it. With no such task (its run failed) the owner opens it by hand."""
    from services import tasks

    task = db.session.execute(select(Task).where(Task.opportunity_id == opp.id, Task.by_automation.is_(True),
                                                 Task.status.in_(("todo", "in_progress")))
                              .order_by(Task.id).limit(1)).scalar_one_or_none()
    if task is not None:
        tasks.change_status(task, "completed", opp.owner)
    db.session.flush()
    opened = db.session.execute(select(OpportunitySubstate.status).where(
        OpportunitySubstate.opportunity_id == opp.id, OpportunitySubstate.substate_id == substate_id)).scalar()
    if opened != "open":
        substates.open_substate(opp, substate_id, opp.owner)


def answer(rng: random.Random, now: datetime, accept_share: float = 0.7, complete_share: float = 0.4) -> None:
    """Partners accept most of their assignments and people complete some activities, hours later,
    through the same services as the partner home and the opportunity page."""
    with dispatch.held():
        pending = db.session.execute(select(Assignment).where(Assignment.status == "pending")
                                     .order_by(Assignment.id)).scalars().all()
        for item in pending:
            partner = db.session.execute(select(User).where(User.company_id == item.company_id)
                                         .order_by(User.id).limit(1)).scalar_one_or_none()
            if partner is None or rng.random() >= accept_share:
                continue
            moment = min(now, item.assigned_at + timedelta(hours=rng.uniform(1, 30)))
            opp = db.session.get(Opportunity, item.opportunity_id)
            at(moment, lambda opp=opp, item=item, partner=partner: assignment.accept(opp, item.id, partner))
        for item in db.session.execute(select(Activity).where(Activity.completed_at.is_(None))
                                       .order_by(Activity.id)).scalars().all():
            if rng.random() >= complete_share:
                continue
            opp = db.session.get(Opportunity, item.opportunity_id)
            moment = min(now, item.created_at + timedelta(hours=rng.uniform(2, 72)))
            at(moment, lambda opp=opp, item=item: activities.complete(opp, item.id, opp.owner))
