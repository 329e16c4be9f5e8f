"""T1 trigger latency (issue 11): a task status change committed → the trigger's substate opened (in that
same transaction) and its on-open database-only actions committed final by real RQ workers.

    .venv/bin/python bench/monitoring_trigger.py [--database-url postgresql://…] [--changes 200]

Starts its own Redis (unless REDIS_URL is set), database (a temporary SQLite file by default) and two
workers. Each of `--changes` opportunities has a task; its status change to "completed" is committed, one
opportunity at a time, firing the trigger of substate "Project ready", whose on-open actions (create an
activity, then open "Installation") run in the workers; the next change waits until they are final. Ends with one JSON line:
task_trigger_p50_ms, task_trigger_p99_ms (target ≤ 500 ms). `measure(database_url)` returns the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import engine_bench, percentile  # noqa: E402

WORKERS = 2


def build(count: int):
    """A manager, a flow Start → Project ready → Installation, the trigger, and `count` opportunities standing
    in Start, each with one task to do. Returns (user, trigger's substate, [(opportunity id, task id)])."""
    from extensions import db
    from models import (
        Action,
        ActivityType,
        Channel,
        Customer,
        Opportunity,
        OpportunityType,
        State,
        Substate,
        Trigger,
        User,
    )
    from services.substates import open_substate
    from services.tasks import create_task

    db.create_all()
    user = User(email="bench@example.com", name="Bench", role="manager")
    user.set_password("bench-password")
    flow = OpportunityType(name="Bench trigger flow", name_i18n={})
    state = State(name="Work", name_i18n={}, position=0)
    start, ready, install = (Substate(name=n, name_i18n={}, position=i)
                             for i, n in enumerate(("Start", "Project ready", "Installation")))
    state.substates.extend([start, ready, install])
    flow.states.append(state)
    call = ActivityType(name="Call", name_i18n={}, active=True)
    channel, customer = Channel(name="Web"), Customer(name="Bench customer")
    db.session.add_all([user, flow, call, channel, customer])
    db.session.flush()
    db.session.add_all([
        Action(substate=ready, group="on_open", kind="create_activity", position=0, enabled=True,
               config={"activity_type_id": call.id, "description": "Call {{ opportunity.name }}"}),
        Action(substate=ready, group="on_open", kind="open_substate", position=1, enabled=True,
               config={"substate_id": install.id}),
        Trigger(substate_id=ready.id, kind="task_status", name="Task completed → Project ready",
                config={"status": "completed", "title_words": "progetto"}),
    ])
    pairs = []
    for _ in range(count):
        opp = Opportunity(name=f"Bench {uuid.uuid4().hex[:6]}", type=flow, channel=channel, customer=customer)
        db.session.add(opp)
        db.session.flush()
        open_substate(opp, start.id, None)
        pairs.append((opp.id, create_task(opp, "Prepara il progetto", responsible_id=user.id).id))
    db.session.commit()
    return user, ready, pairs


def _finished(ready, opp_id: int):
    """When the last of the opportunity's on-open runs of `ready` finished, once both are final (else None)."""
    from sqlalchemy import case, func, select

    from extensions import db
    from models import ActionRun
    from models.runs import FINAL_STATUSES

    db.session.rollback()
    final, succeeded, last = db.session.execute(
        select(func.count(), func.sum(case((ActionRun.status == "succeeded", 1), else_=0)),
               func.max(ActionRun.finished_at))
        .where(ActionRun.opportunity_id == opp_id, ActionRun.substate_id == ready.id, ActionRun.trigger == "on_open",
               ActionRun.status.in_(FINAL_STATUSES))).one()
    if final < 2:
        return None
    return last if succeeded == 2 else False


def latencies(user, ready, pairs, timeout: float = 10) -> list[float]:
    """One change at a time: commit the task's change to "completed", then wait for the opened substate's
    on-open runs to be final; milliseconds from the commit to the last one's finish (as the worker
    recorded it), for the changes whose runs all succeeded."""
    from extensions import db
    from models import Task
    from models.base import utcnow
    from services.tasks import change_status

    out = []
    for opp_id, task_id in pairs:
        change_status(db.session.get(Task, task_id), "completed", user)
        db.session.commit()
        committed = utcnow()
        deadline = time.monotonic() + timeout
        while (last := _finished(ready, opp_id)) is None and time.monotonic() < deadline:
            time.sleep(0.003)
        if last:
            out.append((last - committed).total_seconds() * 1000)
    return out


def measure(database_url: str | None, changes: int = 200) -> dict:
    """{"task_trigger_p99_ms": …} (and p50, and how many changes completed) on this database."""
    with engine_bench(database_url) as (app, queue, pool), app.app_context():
        user, ready, pairs = build(changes)
        pool.start(WORKERS, queue)
        time.sleep(1)  # the workers have registered; let them settle before the clock starts
        lat = latencies(user, ready, pairs)
    return {"task_trigger_p50_ms": round(percentile(lat, 50), 1), "task_trigger_p99_ms": round(percentile(lat, 99), 1),
            "task_trigger_completed": len(lat), "task_trigger_changes": changes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    result = measure(args.database_url, args.changes)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"task status change committed → trigger's substate opened and its on-open actions final "
          f"({result['task_trigger_completed']}/{args.changes} changes, {WORKERS} workers, {backend}): "
          f"p50 {result['task_trigger_p50_ms']} ms, p99 {result['task_trigger_p99_ms']} ms (target ≤ 500 ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
