"""T2 process automation latency (issue 12): a custom field saved through services.field_values.set_value, as
the opportunity page saves it, committed → the automation's substate closed (in that same transaction) and its
on-close database-only actions committed final by real RQ workers.

    .venv/bin/python bench/process_field_close.py [--database-url postgresql://…] [--changes 200]

Starts its own Redis (unless REDIS_URL is set), database (a temporary SQLite file by default) and two
workers. Each of `--changes` opportunities stands in "Survey" with its date empty; the date is saved, one
opportunity at a time (the first few, one or two per worker, warm the workers up and are not counted), which ticks "Survey" through the active automation, whose on-close actions (create an
activity, then open "Installation") run in the workers; the next save waits until they are final. Ends with
one JSON line: field_to_close_p50_ms, field_to_close_p99_ms (target ≤ 500 ms). `measure(database_url)`
returns the same.
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
WARM_UP = 2 * WORKERS  # saves before the clock: each worker's first jobs load the modules they use


def build(count: int):
    """A manager, a flow Start → Survey → Installation, a date field, the automation "survey date ticks
    Survey" and `count` opportunities with Survey open. Returns (user, field reference, Survey, [opportunity ids])."""
    from extensions import db
    from models import (
        Action,
        ActivityType,
        Channel,
        Customer,
        CustomField,
        Opportunity,
        OpportunityType,
        ProcessAutomation,
        State,
        Substate,
        User,
    )
    from services.substates import open_substate

    db.create_all()
    user = User(email="bench@example.com", name="Bench", role="manager")
    user.set_password("bench-password")
    flow = OpportunityType(name="Bench process flow", name_i18n={})
    state = State(name="Work", name_i18n={}, position=0)
    start, survey, install = (Substate(name=n, name_i18n={}, position=i)
                              for i, n in enumerate(("Start", "Survey", "Installation")))
    state.substates.extend([start, survey, install])
    flow.states.append(state)
    call = ActivityType(name="Call", name_i18n={}, active=True)
    channel, customer = Channel(name="Web"), Customer(name="Bench customer")
    field = CustomField(key="survey_date", name="Survey date", name_i18n={}, field_type="date", options=[])
    db.session.add_all([user, flow, call, channel, customer, field])
    db.session.flush()
    db.session.add_all([
        Action(substate=survey, group="on_close", kind="create_activity", position=0, enabled=True,
               config={"activity_type_id": call.id, "description": "Survey of {{ opportunity.name }} done"}),
        Action(substate=survey, group="on_close", kind="open_substate", position=1, enabled=True,
               config={"substate_id": install.id}),
        ProcessAutomation(name="Survey date ticks Survey", custom_field_id=field.id, type_id=flow.id,
                          substate_id=survey.id, active=True),
    ])
    ids = []
    for _ in range(count):
        opp = Opportunity(name=f"Bench {uuid.uuid4().hex[:6]}", type=flow, channel=channel, customer=customer)
        db.session.add(opp)
        db.session.flush()
        open_substate(opp, start.id, None)
        open_substate(opp, survey.id, None)
        ids.append(opp.id)
    db.session.commit()
    return user, f"custom:{field.id}", survey, ids


def _finished(survey, opp_id: int):
    """When the last of the opportunity's on-close runs of `survey` finished, once both are final (else None;
    False when one did not succeed)."""
    from sqlalchemy import case, func, select

    from extensions import db
    from models import ActionRun
    from models.runs import FINAL_STATUSES

    db.session.rollback()
    final, succeeded, last = db.session.execute(
        select(func.count(), func.sum(case((ActionRun.status == "succeeded", 1), else_=0)),
               func.max(ActionRun.finished_at))
        .where(ActionRun.opportunity_id == opp_id, ActionRun.substate_id == survey.id,
               ActionRun.trigger == "on_close", ActionRun.status.in_(FINAL_STATUSES))).one()
    if final < 2:
        return None
    return last if succeeded == 2 else False


def latencies(user, ref: str, survey, ids, timeout: float = 10) -> list[float]:
    """One save at a time: set the date and commit (as the page does), then wait for Survey's on-close runs to
    be final; milliseconds from the commit to the last one's finish (as the worker recorded it)."""
    from extensions import db
    from models import Opportunity, OpportunitySubstate
    from models.base import utcnow
    from services import field_values as fv

    out, closed = [], 0
    for opp_id in ids:
        fv.set_value(db.session.get(Opportunity, opp_id), ref, "2026-03-05", user)
        db.session.commit()
        committed = utcnow()
        status = db.session.execute(db.select(OpportunitySubstate.status).where(
            OpportunitySubstate.opportunity_id == opp_id, OpportunitySubstate.substate_id == survey.id)).scalar_one()
        closed += status == "closed"
        deadline = time.monotonic() + timeout
        while (last := _finished(survey, opp_id)) is None and time.monotonic() < deadline:
            time.sleep(0.003)
        if last:
            out.append((last - committed).total_seconds() * 1000)
    assert closed == len(ids), f"the automation closed Survey on {closed} of {len(ids)} opportunities"
    return out


def measure(database_url: str | None, changes: int = 200) -> dict:
    """{"field_to_close_p99_ms": …} (and p50, and how many saves completed) on this database."""
    with engine_bench(database_url) as (app, queue, pool), app.app_context():
        user, ref, survey, ids = build(changes + WARM_UP)
        pool.start(WORKERS, queue)
        time.sleep(1)  # the workers have registered; let them settle before the clock starts
        latencies(user, ref, survey, ids[:WARM_UP])
        lat = latencies(user, ref, survey, ids[WARM_UP:])
    return {"field_to_close_p50_ms": round(percentile(lat, 50), 1),
            "field_to_close_p99_ms": round(percentile(lat, 99), 1),
            "field_to_close_completed": len(lat), "field_to_close_changes": changes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    result = measure(args.database_url, args.changes)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"field saved and committed → automation's substate closed and its on-close actions final "
          f"({result['field_to_close_completed']}/{args.changes} saves, {WORKERS} workers, {backend}): "
          f"p50 {result['field_to_close_p50_ms']} ms, p99 {result['field_to_close_p99_ms']} ms (target ≤ 500 ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
