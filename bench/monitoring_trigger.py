"""T1 trigger latency (issue 11): a task status change committed → the trigger's substate opened (in that
same transaction) and its on-open database-only actions committed final by real RQ workers.

    .venv/bin/python bench/monitoring_trigger.py [--database-url postgresql://…] [--changes 200] [--rate 20]

Starts its own Redis (unless REDIS_URL is set), database (a temporary SQLite file by default) and two
workers. Each of `--changes` opportunities has a task; their status changes to "completed" are committed
one after another at `--rate` a second, each firing the trigger of substate "Project ready", whose on-open
actions (create an activity, then open "Installation") run in the workers. Ends with one JSON line:
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


def change_all(user, pairs, rate: float) -> dict[int, object]:
    """Commit each task's change to "completed", `rate` a second; returns {opportunity id: commit time}."""
    from extensions import db
    from models import Task
    from models.base import utcnow
    from services.tasks import change_status

    committed, gap = {}, 1 / rate
    next_at = time.perf_counter()
    for opp_id, task_id in pairs:
        time.sleep(max(0.0, next_at - time.perf_counter()))
        next_at += gap
        change_status(db.session.get(Task, task_id), "completed", user)
        db.session.commit()
        committed[opp_id] = utcnow()
    return committed


def latencies(ready, committed: dict, timeout: float = 60) -> list[float]:
    """Milliseconds from each commit to the last of its on-open runs finishing, once all are final."""
    from sqlalchemy import func, select

    from extensions import db
    from models import ActionRun
    from models.runs import FINAL_STATUSES

    expected = 2 * len(committed)
    deadline = time.time() + timeout
    where = (ActionRun.substate_id == ready.id, ActionRun.trigger == "on_open")
    while time.time() < deadline:
        db.session.rollback()
        done = db.session.scalar(select(func.count()).select_from(ActionRun)
                                 .where(*where, ActionRun.status.in_(FINAL_STATUSES)))
        if done >= expected:
            break
        time.sleep(0.1)
    db.session.rollback()
    rows = db.session.execute(select(ActionRun.opportunity_id, func.max(ActionRun.finished_at),
                                     func.count(), func.sum(ActionRun.status == "succeeded"))
                              .where(*where).group_by(ActionRun.opportunity_id)).all()
    out = []
    for opp_id, finished, count, succeeded in rows:
        if count == 2 and succeeded == 2 and opp_id in committed:
            out.append((finished - committed[opp_id]).total_seconds() * 1000)
    return out


def measure(database_url: str | None, changes: int = 200, rate: float = 20) -> dict:
    """{"task_trigger_p99_ms": …} (and p50, and how many changes completed) on this database."""
    with engine_bench(database_url) as (app, queue, pool), app.app_context():
        user, ready, pairs = build(changes)
        pool.start(WORKERS, queue)
        committed = change_all(user, pairs, rate)
        lat = latencies(ready, committed)
    return {"task_trigger_p50_ms": round(percentile(lat, 50), 1), "task_trigger_p99_ms": round(percentile(lat, 99), 1),
            "task_trigger_completed": len(lat), "task_trigger_changes": changes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()
    result = measure(args.database_url, args.changes, args.rate)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"task status change committed → trigger's substate opened and its on-open actions final "
          f"({result['task_trigger_completed']}/{args.changes} changes, {WORKERS} workers, {backend}): "
          f"p50 {result['task_trigger_p50_ms']} ms, p99 {result['task_trigger_p99_ms']} ms (target ≤ 500 ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
