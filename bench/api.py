"""The API's opportunity list at scale (issue 13, figure `api_list_p95_ms`): 100,000 opportunities with
custom field values (bench/process_field_filter.py's seed) plus a state whose substate is open on a third of
them; GET /api/v1/opportunities filtered by type, state, words and a custom field, over real HTTP (werkzeug,
threaded, on a loopback port) with an admin's and a partner's bearer token (p95 over every request).
Target: ≤ 50 ms.

    .venv/bin/python bench/api.py [--pg postgresql://…] [--opportunities 100000] [--repeat 20]

Ends with one JSON line: {"api_list_p95_ms": …, "webhook_lateness_p99_ms": …} (each the worse of SQLite and
PostgreSQL when --pg or TEST_DATABASE_URL is given; the webhook figure from bench/webhook_lateness.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import process_field_filter as seeded  # noqa: E402
from support import LiveServer, percentile, redis_url, worse_of_backends  # noqa: E402

STATE_NAME = "API bench state"


def queries(type_id: int, state_id: int) -> list[str]:
    """The list as an integration filters it: by type, by state, by words, by a custom field, combined."""
    return [f"type_id={type_id}", f"state_id={state_id}", "q=Opportunity 0421", "cf_region=islands",
            f"type_id={type_id}&state_id={state_id}&cf_areas=abroad", f"type_id={type_id}&q=Opportunity 09&limit=100",
            "cf_region=north&limit=200"]


def seed_states(app) -> tuple[int, int]:
    """A state with one substate in the seeded type, open on every third opportunity (once per database)."""
    from sqlalchemy import func, select

    from extensions import db
    from models import Opportunity, OpportunitySubstate, OpportunityType, State, Substate

    with app.app_context():
        opp_type = db.session.execute(select(OpportunityType).where(OpportunityType.name == "Fields bench")).scalar_one()
        state = db.session.execute(select(State).where(State.name == STATE_NAME)).scalar_one_or_none()
        if state is None:
            state = State(type_id=opp_type.id, name=STATE_NAME, name_i18n={})
            state.substates.append(Substate(name="API bench substate", name_i18n={}))
            db.session.add(state)
            db.session.flush()
            sub_id = state.substates[0].id
            ids = db.session.execute(select(Opportunity.id).where(Opportunity.type_id == opp_type.id)).scalars().all()
            rows = [{"opportunity_id": oid, "substate_id": sub_id, "status": "open"} for oid in ids[::3]]
            for i in range(0, len(rows), seeded.BATCH):
                db.session.execute(OpportunitySubstate.__table__.insert(), rows[i:i + seeded.BATCH])
            db.session.commit()
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
                    auto.execute(db.text("VACUUM ANALYZE opportunity_substate"))
            else:
                db.session.execute(db.text("ANALYZE"))
                db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(OpportunitySubstate)) > 0
        return opp_type.id, state.id


def api_app(database_url: str, redis: str):
    """The app as it serves the API in production: the rate limiter on Redis (a limit the bench never meets)."""
    from app import create_app

    if database_url.startswith("postgresql://"):
        database_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis, "RATELIMIT_STORAGE_URI": redis,
                       "API_RATE_LIMIT": "1000000 per minute"})


def tokens(app) -> dict[str, str]:
    """A read token of the seed's admin and of one of its partner users."""
    from sqlalchemy import select

    from extensions import db
    from models import User
    from services import api_tokens

    with app.app_context():
        made = {}
        for label, email in (("admin", seeded.ADMIN), ("partner", seeded.PARTNER)):
            user = db.session.execute(select(User).where(User.email == email)).scalar_one()
            made[label] = api_tokens.create_token(user, "bench", {"read"}, 1)[1]
        db.session.commit()
        return made


def measure(database_url: str, repeat: int = 20, opps: int = 100_000, verbose: bool = True) -> dict:
    """Seed `database_url` (reused when already seeded) and time the filtered lists over HTTP; returns
    {"api_list_p95_ms": p95 over every request, as admin and as partner}."""
    seeded.seed(database_url, opps)
    redis, redis_proc = redis_url()
    app = api_app(database_url, redis)
    server = None
    try:
        type_id, state_id = seed_states(app)
        made = tokens(app)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the console
        server = LiveServer(app)
        samples: list[float] = []
        for who, plaintext in made.items():
            for query in queries(type_id, state_id):
                url = f"{server.base}/api/v1/opportunities?{query.replace(' ', '+')}"
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {plaintext}"})
                times, items = [], 0
                for n in range(repeat + 2):
                    t0 = time.perf_counter()
                    with urllib.request.urlopen(request) as response:
                        body = json.loads(response.read())
                    if n >= 2:  # the first two warm the caches (SQL statements, templates of the query)
                        times.append((time.perf_counter() - t0) * 1000)
                    items = len(body["items"])
                samples += times
                if verbose:
                    print(f"  {who:8} {query:60} {items:4} items  p50 {percentile(times, 50):6.1f} ms"
                          f"  p95 {percentile(times, 95):6.1f} ms")
    finally:
        if server:
            server.stop()
        with app.app_context():
            from extensions import db

            db.engine.dispose()
        if redis_proc:
            redis_proc.terminate()
    return {"api_list_p95_ms": round(percentile(samples, 95), 1)}


def webhook_lateness_p99_ms(pg: str | None) -> float:
    """Event committed → signed delivery received by a loopback receiver (bench/webhook_lateness.py), the
    worse of the backends."""
    import webhook_lateness

    return worse_of_backends(webhook_lateness.measure, "webhook_lateness_p99_ms", pg)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    worst = worse_of_backends(measure, "api_list_p95_ms", args.pg, args.repeat, args.opportunities)
    print(json.dumps({"api_list_p95_ms": worst, "webhook_lateness_p99_ms": webhook_lateness_p99_ms(args.pg)}))


if __name__ == "__main__":
    main()
