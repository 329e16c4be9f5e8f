"""Bulk retry at scale (issue 14 item 5, SPEC E10): seconds from starting the retry of 10,000 failed runs to
all 10,000 new runs created and on the queue — the long job's slices run here one after another, as a worker
runs them (services.progress), with Redis receiving the runs' jobs after each slice's commit. The seed is one
type, one action, 10,000 opportunities with a failed run each and as many succeeded runs (which the filter
passes over). Target ≤ 10 s. With TEST_DATABASE_URL set the figure is the worse of SQLite and PostgreSQL.
Ends with one JSON line.

    .venv/bin/python bench/bulk_retry.py [--runs 10000]
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

from support import redis_url, worse_of_backends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_S = 10.0


def _seed(app, runs: int) -> int:
    """Schema and rows by bulk Core inserts; the admin's id."""
    from extensions import db
    from models import (
        Action,
        ActionRun,
        Channel,
        Customer,
        Opportunity,
        OpportunityType,
        State,
        Substate,
        User,
    )
    from models.base import utcnow

    db.create_all()
    opp_type = OpportunityType(name="Solar", name_i18n={})
    state = State(name="State", name_i18n={}, position=0)
    state.substates = [Substate(name="Step 1", name_i18n={}, position=0), Substate(name="Step 2", name_i18n={},
                                                                                   position=1)]
    opp_type.states.append(state)
    channel, customer = Channel(name="Web"), Customer(name="Bench customer", email="c@example.net")
    admin = User(email="admin@bench", name="Admin", role="admin")
    admin.set_password("bench-password")
    db.session.add_all([opp_type, channel, customer, admin])
    db.session.flush()
    action = Action(substate_id=state.substates[0].id, group="on_open", kind="open_substate",
                    config={"substate_id": state.substates[1].id}, position=0)
    db.session.add(action)
    db.session.commit()
    now = utcnow()
    conn = db.session.connection()
    conn.execute(Opportunity.__table__.insert(), [
        {"name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
         "customer_id": customer.id, "amount": 1000, "created_at": now} for i in range(runs)])
    opp_ids = db.session.execute(db.select(Opportunity.id).order_by(Opportunity.id)).scalars().all()
    for status in ("succeeded", "failed"):  # the succeeded first: the retry's walk passes over them
        conn.execute(ActionRun.__table__.insert(), [
            {"opportunity_id": opp_id, "action_id": action.id, "substate_id": action.substate_id,
             "kind": "open_substate", "config": {}, "trigger": "on_open", "status": status, "due_at": now,
             "created_at": now, "attempts": 1, "chain_id": uuid.uuid4().hex, "chain_depth": 0, "sequence": 0,
             "has_next": False, "result": {}, "error": f"Timeout after {i % 60} s" if status == "failed" else None}
            for i, opp_id in enumerate(opp_ids)])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in ("opportunity", "action_run", "action"):
                auto.execute(db.text(f'VACUUM ANALYZE "{table}"'))
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    return admin.id


def measure_on(database_url: str, runs: int = 10_000) -> dict:
    """{"bulk_retry_10k_s": …} on this database: start → every new run created and pushed to the queue."""
    from redis import Redis

    from app import create_app
    from extensions import db
    from models import ActionRun, User
    from services import bulk_retry, progress
    from services.failure_inbox import Filters

    redis, redis_proc = redis_url()
    queue = f"bench-bulk-retry-{uuid.uuid4().hex[:8]}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "REDIS_URL": redis,
                      "RQ_QUEUE": queue})
    try:
        with app.app_context():
            admin_id = _seed(app, runs)
            db.session.remove()
            started = time.perf_counter()
            job = bulk_retry.start(db.session.get(User, admin_id), Filters())
            db.session.commit()
            job_id, slices = job.id, 0
            while True:
                slices += 1
                if progress.run(job_id) != "continued":
                    break
            elapsed = time.perf_counter() - started
            retried = db.session.execute(db.select(db.func.count()).select_from(ActionRun)
                                         .where(ActionRun.trigger == "retry")).scalar_one()
            queued = Redis.from_url(redis).llen(f"rq:queue:{queue}")
            assert retried == runs, (retried, runs)
            print(f"  {retried} retries created in {slices} slice(s), {queued} jobs on the queue: {elapsed:.2f} s")
            db.session.remove()
    finally:
        conn = Redis.from_url(redis)
        for key in conn.scan_iter(f"rq:*{queue}*"):
            conn.delete(key)
        if redis_proc is not None:
            redis_proc.terminate()
    return {"bulk_retry_10k_s": round(elapsed, 2)}


def measure(runs: int = 10_000) -> dict:
    """The issue's figure: the worse of SQLite and (with TEST_DATABASE_URL) PostgreSQL."""
    return {"bulk_retry_10k_s": worse_of_backends(measure_on, "bulk_retry_10k_s",
                                                  os.environ.get("TEST_DATABASE_URL"), runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    result = measure(args.runs)
    print(f"bulk retry of {args.runs} failed runs queued: {result['bulk_retry_10k_s']} s (target ≤ {TARGET_S:.0f} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
