"""Calendar at scale (issue 11, `calendar_p95_ms`): the month view of a busy user — 300 scheduled activities
and 300 task deadlines in the month, among 100,000 activities and 100,000 tasks of others — through the
app's test client (login, routing, queries, template: all but the socket), p95 of the repeats. Also the
user's iCalendar feed (a year and two months of items), for information.

    .venv/bin/python bench/monitoring_calendar.py [--pg postgresql://…] [--repeat 20]

Ends with one JSON line: {"calendar_p95_ms": …} (the worse of SQLite and PostgreSQL when --pg is given).
bench/monitoring.py calls measure(database_url) for each database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MONTH = datetime(2026, 3, 1)  # the month measured
BUSY_EMAIL, PASSWORD = "busy@bench", "bench-password"
OTHERS, OPPORTUNITIES, BACKGROUND = 200, 20_000, 100_000
MINE = 300  # activities and task deadlines of the busy user in the month, of each kind
BATCH = 20_000


def _insert(conn, table, rows) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def _when(rnd: random.Random, month_only: bool) -> datetime:
    """A working-hours time: in the measured month, or anywhere in a year around it."""
    if month_only:
        day = MONTH + timedelta(days=rnd.randrange(31))
    else:
        day = MONTH + timedelta(days=rnd.randrange(-180, 185))
    return day.replace(hour=rnd.randrange(7, 18), minute=rnd.choice((0, 15, 30, 45)))


def seed(app) -> None:
    """The busy user, 200 others, 20,000 opportunities, and the activities and tasks (skipped when there)."""
    from extensions import db
    from models import (
        Activity,
        ActivityType,
        Channel,
        Customer,
        Opportunity,
        OpportunityType,
        State,
        Task,
        TaskPerson,
        User,
    )
    from models.work import activity_invitee

    with app.app_context():
        db.create_all()
        if db.session.execute(db.select(User.id).where(User.email == BUSY_EMAIL)).first():
            return
        rnd = random.Random(11)
        opp_type = OpportunityType(name="Solar", name_i18n={})
        opp_type.states.append(State(name="Sale", name_i18n={}, position=0))
        kinds = [ActivityType(name=f"Visit {i}", name_i18n={}, active=True) for i in range(4)]
        channel, customer = Channel(name="Web"), Customer(name="Calendar customer", email="c@example.net")
        busy = User(email=BUSY_EMAIL, name="Busy Agent", role="agent", language="it", timezone="Europe/Rome")
        busy.set_password(PASSWORD)
        others = [User(email=f"other{i}@bench", name=f"Other {i}", role="agent", password_hash="!")
                  for i in range(OTHERS)]
        db.session.add_all([opp_type, channel, customer, busy, *kinds, *others])
        db.session.commit()
        conn = db.session.connection()
        _insert(conn, Opportunity.__table__, [
            {"id": i, "name": f"Opportunity {i:05d}", "type_id": opp_type.id, "channel_id": channel.id,
             "customer_id": customer.id, "amount": 1000, "created_at": MONTH} for i in range(1, OPPORTUNITIES + 1)])
        other_ids, kind_ids = [u.id for u in others], [k.id for k in kinds]
        activities, invitees, tasks, people = [], [], [], []
        for i in range(1, BACKGROUND + 2 * MINE + 1):
            mine = i > BACKGROUND
            activities.append({
                "id": i, "opportunity_id": rnd.randint(1, OPPORTUNITIES), "type_id": rnd.choice(kind_ids),
                "description": "Bring the drawings", "created_at": MONTH, "subject": f"Visit {i}",
                "due_at": _when(rnd, mine), "duration_minutes": rnd.choice((30, 60, 90, None)),
                # Of the busy user's, one in six is someone else's meeting the user is invited to.
                "responsible_id": rnd.choice(other_ids) if not mine or i % 6 == 0 else busy.id,
                "colour": rnd.choice(("#1f7a4d", "#b54708", "#2454d6")), "in_calendar": True, "include_client": False})
            if mine and i % 6 == 0:
                invitees.append({"activity_id": i, "user_id": busy.id})
            elif not mine and i % 3 == 0:  # others invite each other too: the invitee table is not tiny
                invitees.append({"activity_id": i, "user_id": rnd.choice(other_ids)})
            if mine and i > BACKGROUND + MINE:
                activities[-1]["due_at"] = _when(rnd, False)  # the busy user's other months
            tasks.append({
                "id": i, "opportunity_id": rnd.randint(1, OPPORTUNITIES), "title": f"Task {i}", "description": "",
                "responsible_id": rnd.choice(other_ids) if not mine or i % 5 == 0 else busy.id,
                "deadline": _when(rnd, mine and i <= BACKGROUND + MINE), "created_at": MONTH,
                "status": rnd.choice(("todo", "todo", "in_progress", "completed", "deferred")), "by_automation": False})
            if mine and i % 5 == 0:
                people.append({"task_id": i, "user_id": busy.id, "role": "participant"})
            elif not mine and i % 2 == 0:
                people.append({"task_id": i, "user_id": rnd.choice(other_ids), "role": ("participant", "observer")[i % 4 // 2]})
        _insert(conn, Activity.__table__, activities)
        _insert(conn, activity_invitee, invitees)
        _insert(conn, Task.__table__, tasks)
        _insert(conn, TaskPerson.__table__, people)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
                for table in ("opportunity", "activity", "activity_invitee", "task", "task_person", "user"):
                    auto.execute(db.text(f'VACUUM ANALYZE "{table}"'))
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()


def _timed(client, url: str, repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds of each request; with `cpu`, this process's CPU milliseconds too (on a shared
    machine the wall clock also counts the time other processes held the cores)."""
    samples = []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - used) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def measure(database_url: str, repeat: int = 20) -> dict:
    """Seed (when needed) and time the busy user's month view: {"calendar_p95_ms": …, …}."""
    from app import create_app
    from bench.support import percentile

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    started = time.perf_counter()
    seed(app)
    print(f"seeded in {time.perf_counter() - started:.1f} s ({database_url.split('?')[0]})")
    client = app.test_client()
    assert client.post("/login", data={"email": BUSY_EMAIL, "password": PASSWORD}).status_code == 302
    url = f"/calendar?view=month&date={MONTH.date().isoformat()}"
    body = client.get(url).get_data(as_text=True)
    shown = body.count('class="cal-item')
    assert shown >= 2 * MINE - 60, f"only {shown} items on the page"  # the grid's edges add or drop a few
    cpu: list[float] = []
    month = _timed(client, url, repeat, cpu)
    week = _timed(client, url.replace("month", "week"), repeat)
    ics = _timed(app.test_client(), _feed_path(app), max(3, repeat // 4))
    name = database_url.split("+")[0].split(":")[0]
    result = {"calendar_p95_ms": round(percentile(month, 95), 1), "items": shown,
              "calendar_cpu_p95_ms": round(percentile(cpu, 95), 1),
              "week_p95_ms": round(percentile(week, 95), 1), "feed_p95_ms": round(percentile(ics, 95), 1)}
    print(f"{name}: month ({shown} items) p50 {percentile(month, 50):.1f} ms p95 {result['calendar_p95_ms']} ms "
          f"(CPU of this process p95 {result['calendar_cpu_p95_ms']} ms); "
          f"week p95 {result['week_p95_ms']} ms; feed p95 {result['feed_p95_ms']} ms")
    return result


def _feed_path(app) -> str:
    """A new feed address for the busy user; its path."""
    from extensions import db
    from models import User
    from services import calendar_feed
    from services import secrets as secret_store

    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == BUSY_EMAIL)).scalar_one()
        token = secret_store.decrypt(calendar_feed.new_address(user).token_encrypted)
        db.session.commit()
    return f"/calendar/feed/{token}.ics"


def main() -> None:
    from bench.support import database_url, drop_schemas

    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    sqlite_url = database_url(None)
    try:
        results = [measure(sqlite_url, args.repeat)]
    finally:
        shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if args.pg:
        try:
            results.append(measure(database_url(args.pg), args.repeat))
        finally:
            drop_schemas()
    print(json.dumps({"calendar_p95_ms": max(r["calendar_p95_ms"] for r in results),
                      "sqlite_p95_ms": results[0]["calendar_p95_ms"],
                      "sqlite_cpu_p95_ms": results[0]["calendar_cpu_p95_ms"],
                      "postgres_p95_ms": results[1]["calendar_p95_ms"] if len(results) > 1 else None}))


if __name__ == "__main__":
    main()
