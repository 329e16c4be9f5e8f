"""The task list at scale (issue 11, figure `tasks_p95_ms`): 100,000 tasks over 20,000 opportunities,
bulk-inserted; then the first page of /tasks, filtered, through the app as an admin and as a partner user
(p95 over 15 repeats of each query). Target: ≤ 150 ms.

    .venv/bin/python bench/monitoring_tasks.py [--pg postgresql://…] [--tasks 100000] [--repeat 15]

Ends with one JSON line: {"tasks_p95_ms": …} (the worse of SQLite and PostgreSQL when --pg or
TEST_DATABASE_URL is given). bench/monitoring.py calls `measure(database_url)` for each database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from support import percentile, worse_of_backends  # noqa: E402

PASSWORD = "bench-password"
ADMIN, PARTNER = "admin@bench-tasks", "partner@bench-tasks"
BATCH = 20_000
STATUSES = ["todo"] * 4 + ["in_progress"] * 2 + ["completed"] * 3 + ["deferred"]


def _app(url: str):
    from app import create_app

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    # No CSRF or login rate limit: the bench logs in again on every run.
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False})


def seed(url: str, tasks: int = 100_000, opps: int = 20_000):
    """The schema, 30 internal users, 20 partner companies with a user each, `opps` opportunities and
    `tasks` tasks (a fifth with a participant and an observer), by bulk Core inserts. A database that
    already holds this seed is reused. Returns the app."""
    from sqlalchemy import func, select

    from extensions import db
    from models import Task, User

    app = _app(url)
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(func.count()).select_from(Task)) == tasks and \
                db.session.scalar(select(User.id).where(User.email == ADMIN)):
            return app
        _seed_rows(tasks, opps)
    return app


def _seed_rows(tasks: int, opps: int) -> None:
    from extensions import db
    from models import (
        Channel,
        Customer,
        Opportunity,
        OpportunityType,
        PartnerCompany,
        State,
        Substate,
        Task,
        TaskPerson,
        User,
    )

    rnd = random.Random(11)
    opp_type = OpportunityType(name="Tasks bench", name_i18n={})
    state = State(name="Sale", name_i18n={}, position=0)
    state.substates = [Substate(name=f"Step {i}", name_i18n={}, position=i) for i in range(4)]
    opp_type.states.append(state)
    channel, customer = Channel(name="Tasks bench web"), Customer(name="Tasks bench customer", email="c@example.net")
    companies = [PartnerCompany(name=f"Tasks bench company {i}", kind="installer" if i % 2 else "commercial")
                 for i in range(20)]
    staff = [User(email=f"user{i}@bench-tasks", name=f"Bench user {i:02d}", role="agent") for i in range(29)]
    admin = User(email=ADMIN, name="Bench admin", role="admin")
    for user in (*staff, admin):
        user.set_password(PASSWORD)
    db.session.add_all([opp_type, channel, customer, admin, *staff, *companies])
    db.session.flush()
    partners = [User(email=PARTNER if i == 1 else f"partner{i}@bench-tasks", name=f"Bench partner {i}",
                     role="partner", company_id=c.id) for i, c in enumerate(companies)]
    for user in partners:
        user.set_password(PASSWORD)
    db.session.add_all(partners)
    db.session.commit()
    inst = [c.id for c in companies if c.kind == "installer"]
    comm = [c.id for c in companies if c.kind == "commercial"]
    people = [u.id for u in (*staff, admin)] + [u.id for u in partners]
    subs = [s.id for s in state.substates]
    conn = db.session.connection()
    first_opp = (db.session.scalar(db.select(db.func.max(Opportunity.id))) or 0) + 1
    now = datetime(2026, 6, 1)
    _insert(conn, Opportunity.__table__, [
        {"id": first_opp + i, "name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
         "customer_id": customer.id, "amount": 1000, "installer_id": rnd.choice(inst), "commercial_id": rnd.choice(comm),
         "created_at": now, "owner_id": admin.id} for i in range(opps)])
    first_task = (db.session.scalar(db.select(db.func.max(Task.id))) or 0) + 1
    rows, persons = [], []
    for i in range(tasks):
        ident = first_task + i
        status = rnd.choice(STATUSES)
        deadline = None if rnd.random() < 0.05 else now + timedelta(minutes=rnd.randint(-60 * 24 * 90, 60 * 24 * 90))
        rows.append({"id": ident, "opportunity_id": first_opp + rnd.randrange(opps), "substate_id": rnd.choice(subs),
                     "title": f"Bench task {i}", "description": "", "responsible_id": rnd.choice(people[:30]),
                     "deadline": deadline, "status": status, "created_at": now, "created_by_id": admin.id,
                     "by_automation": False})
        if i % 5 == 0:
            a, b = rnd.sample(people, 2)
            persons += [{"task_id": ident, "user_id": a, "role": "participant"},
                        {"task_id": ident, "user_id": b, "role": "observer"}]
    _insert(conn, Task.__table__, rows)
    _insert(conn, TaskPerson.__table__, persons)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("opportunity", "task"):
            db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in ("opportunity", "task", "task_person", "user"):
                auto.execute(db.text(f'VACUUM ANALYZE "{table}"'))
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def _insert(conn, table, rows) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def _queries(app) -> dict[str, list[str]]:
    """The filtered first pages each user opens: by status, responsible, opportunity name, deadline."""
    from extensions import db
    from models import User

    with app.app_context():
        someone = db.session.scalar(db.select(User.id).where(User.email == "user3@bench-tasks"))
    common = ["view=all&status=todo", f"view=all&responsible={someone}", "view=all&opportunity=Opportunity%200001",
              f"view=all&status=in_progress&responsible={someone}", "view=all&deadline_from=2026-06-01",
              "view=involved", "status=any"]
    return {ADMIN: common, PARTNER: common}


def measure(database_url: str, repeat: int = 15, tasks: int = 100_000, verbose: bool = True) -> dict:
    """Seed `database_url` (reused when already seeded) and time the task list's filtered first pages;
    returns {"tasks_p95_ms": p95 over every sample, as admin and as partner}. Give it a throwaway
    database (bench.support.database_url makes a SQLite file or a private PostgreSQL schema): the
    100,000 tasks stay in it."""
    app = seed(database_url, tasks)
    samples: list[float] = []
    for email, queries in _queries(app).items():
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        for query in queries:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(f"/tasks?{query}")
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (query, response.status_code)
            samples += times
            if verbose:
                print(f"  {email:22} {query:50} p50 {percentile(times, 50):7.1f} ms  p95 {percentile(times, 95):7.1f} ms")
    with app.app_context():
        from extensions import db

        db.engine.dispose()
    return {"tasks_p95_ms": round(percentile(samples, 95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    worst = worse_of_backends(measure, "tasks_p95_ms", args.pg, args.repeat, args.tasks)
    print(json.dumps({"tasks_p95_ms": worst}))

if __name__ == "__main__":
    main()
