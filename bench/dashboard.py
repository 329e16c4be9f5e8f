"""Flow dashboard at scale (issue 14 item 7): p50/p95 of the whole dashboard page of one type (HTTP through the
app) as an internal user and as a partner, over 7, 30 and 90 days, on SQLite and on PostgreSQL. The seed is
one type of 2 states × 5 substates with 10 actions, N opportunities (a tenth of them the partner's company's),
M runs spread over the last 120 days, and six substate stays per opportunity (five closed, one open).
Ends with one JSON line (the worse backend's p95).

    .venv/bin/python bench/dashboard.py [--opps 10000] [--runs 100000] [--pg postgresql://…] [--repeat 10]
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from support import database_url, drop_schemas, percentile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATUSES = ["succeeded"] * 12 + ["failed", "failed", "needs_review", "skipped", "cancelled", "pending", "scheduled"]
ERRORS = ["550 rejected", "Connection refused", "Timeout", "Template error: missing field"]
BATCH = 20_000


def seed(url: str, opps: int, runs: int):
    """Schema and rows by bulk Core inserts; returns (app, type id)."""
    from app import create_app
    from extensions import db
    from models import (
        Action,
        ActionRun,
        Channel,
        Customer,
        Opportunity,
        OpportunitySubstate,
        OpportunityType,
        PartnerCompany,
        State,
        Substate,
        User,
    )
    from models.base import utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    rnd = random.Random(14)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        opp_type = OpportunityType(name="Solar", name_i18n={})
        for s in range(2):
            state = State(name=f"State {s}", name_i18n={}, position=s)
            state.substates = [Substate(name=f"Step {s}.{i}", name_i18n={}, position=i) for i in range(5)]
            opp_type.states.append(state)
        channel, customer = Channel(name="Web"), Customer(name="Bench customer", email="c@example.net")
        mine, other = PartnerCompany(name="Mine", kind="installer"), PartnerCompany(name="Other", kind="installer")
        admin = User(email="admin@bench", name="Admin", role="admin", timezone="Europe/Rome")
        admin.set_password("bench-password")
        db.session.add_all([opp_type, channel, customer, mine, other, admin])
        db.session.flush()
        partner = User(email="partner@bench", name="Partner", role="partner", company_id=mine.id)
        partner.set_password("bench-password")
        subs = [s for st in opp_type.states for s in st.substates]
        actions = [Action(substate_id=s.id, group="on_open", kind="send_email", config={}, position=0) for s in subs]
        db.session.add_all([partner, *actions])
        db.session.commit()
        action_ids, sub_ids = [a.id for a in actions], [s.id for s in subs]
        now = utcnow()
        conn = db.session.connection()

        def insert(table, rows):
            for i in range(0, len(rows), BATCH):
                conn.execute(table.insert(), rows[i:i + BATCH])

        insert(Opportunity.__table__, [
            {"id": i, "name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
             "customer_id": customer.id, "amount": 1000, "installer_id": mine.id if i % 10 == 0 else other.id,
             "created_at": now} for i in range(1, opps + 1)])
        rows = []
        for i in range(1, runs + 1):
            status = rnd.choice(STATUSES)
            when = now - timedelta(seconds=rnd.randint(0, 120 * 86400))
            rows.append({"id": i, "opportunity_id": rnd.randint(1, opps), "action_id": rnd.choice(action_ids),
                         "kind": "send_email", "config": {}, "trigger": "on_open", "status": status, "due_at": when,
                         "created_at": when, "attempts": 1, "chain_id": "c", "chain_depth": 0, "sequence": 0,
                         "has_next": False, "result": {},
                         "error": rnd.choice(ERRORS) if status in ("failed", "needs_review") else None})
        insert(ActionRun.__table__, rows)
        stays = []
        for opp in range(1, opps + 1):
            for k, sid in enumerate(rnd.sample(sub_ids, 6)):
                opened = now - timedelta(seconds=rnd.randint(3600, 100 * 86400))
                closed = None if k == 5 else min(now, opened + timedelta(seconds=rnd.randint(600, 20 * 86400)))
                stays.append({"opportunity_id": opp, "substate_id": sid, "status": "open" if closed is None else "closed",
                              "opened_at": opened, "closed_at": closed})
        insert(OpportunitySubstate.__table__, stays)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
                for table in ("opportunity", "action_run", "opportunity_substate"):
                    auto.execute(db.text(f'VACUUM ANALYZE "{table}"'))
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        type_id = opp_type.id
    print(f"seeded {opps} opportunities, {runs} runs, {len(stays)} stays in {time.perf_counter() - started:.1f} s")
    return app, type_id


def measure(url: str, opps: int, runs: int, repeat: int) -> float:
    app, type_id = seed(url, opps, runs)
    times = []
    for email in ("admin@bench", "partner@bench"):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        for days in (7, 30, 90):
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(f"/dashboard/{type_id}?days={days}")
                samples.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.status_code
            times += samples
            print(f"  {email:14} {days:3} days  p50 {percentile(samples, 50):7.1f} ms  p95 {percentile(samples, 95):7.1f} ms")
    p95 = percentile(times, 95)
    print(f"{url.split('+')[0].split(':')[0]}: dashboard page p50 {percentile(times, 50):.1f} ms, p95 {p95:.1f} ms")
    return p95


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    import shutil

    sqlite_url = database_url(None)
    try:
        result = {"dashboard_sqlite_p95_ms": round(measure(sqlite_url, args.opps, args.runs, args.repeat), 1),
                  "dashboard_postgres_p95_ms": None}
    finally:
        shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if args.pg:
        try:
            result["dashboard_postgres_p95_ms"] = round(measure(database_url(args.pg), args.opps, args.runs,
                                                                args.repeat), 1)
        finally:
            drop_schemas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
