"""The opportunity list filtered on a custom field at scale (issue 12, figure `custom_field_filter_p95_ms`):
100,000 opportunities, bulk-inserted, most with values of four custom fields (a choice, a multiple choice, an
amount, a date; 360,000 field values); then the first page of /opportunities filtered on them (with a field
column shown), through the app as an admin and as a partner user (p95 over 15 repeats of each query).
Target: ≤ 150 ms.

    .venv/bin/python bench/process_field_filter.py [--pg postgresql://…] [--opportunities 100000] [--repeat 15]

Ends with one JSON line: {"custom_field_filter_p95_ms": …} (the worse of SQLite and PostgreSQL when --pg or
TEST_DATABASE_URL is given). bench/process.py calls `measure(database_url)` for each database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from support import percentile, worse_of_backends  # noqa: E402

PASSWORD = "bench-password"
ADMIN, PARTNER = "admin@bench-fields", "partner@bench-fields"
BATCH = 20_000
REGIONS = ["north", "centre", "south", "islands", "abroad"]
QUERIES = ["cf_region=islands", "cf_region=north&cols=cf_budget,cf_region", "cf_areas=abroad",
           "cf_budget_from=9800,50&cf_budget_to=12000", "cf_survey_from=01/03/2026&cf_survey_to=15/03/2026",
           "cf_region=abroad&cf_budget_from=49000", "cf_areas=south&cf_survey_from=01/06/2026"]


def _app(url: str):
    from app import create_app

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    # No CSRF or login rate limit: the bench logs in again on every run.
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False})


def seed(url: str, opps: int = 100_000):
    """The schema, an admin, 20 partner companies with a user each (the partner reads in Italian, as the
    queries are written), four custom fields and `opps` opportunities, 90% with values, by bulk Core inserts.
    A database that already holds this seed is reused. Returns the app."""
    from sqlalchemy import func, select

    from extensions import db
    from models import Opportunity, User

    app = _app(url)
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(func.count()).select_from(Opportunity)) == opps and \
                db.session.scalar(select(User.id).where(User.email == ADMIN)):
            return app
        _seed_rows(opps)
    return app


def _fields():
    from models import CustomField

    options = [{"key": k, "name": k.title(), "name_i18n": {}} for k in REGIONS]
    return [CustomField(key="region", name="Region", name_i18n={"it": "Zona"}, field_type="choice", options=options),
            CustomField(key="areas", name="Areas", name_i18n={}, field_type="multi_choice", options=options),
            CustomField(key="budget", name="Budget", name_i18n={}, field_type="amount", options=[]),
            CustomField(key="survey", name="Survey", name_i18n={}, field_type="date", options=[])]


def _seed_rows(opps: int) -> None:
    from extensions import db
    from models import Channel, Customer, FieldValue, Opportunity, OpportunityType, PartnerCompany, User

    rnd = random.Random(12)
    opp_type = OpportunityType(name="Fields bench", name_i18n={})
    channel, customer = Channel(name="Fields bench web"), Customer(name="Fields bench customer", email="c@example.net")
    companies = [PartnerCompany(name=f"Fields bench company {i}", kind="installer" if i % 2 else "commercial")
                 for i in range(20)]
    admin = User(email=ADMIN, name="Bench admin", role="admin", language="it")
    admin.set_password(PASSWORD)
    region, areas, budget, survey = fields = _fields()
    db.session.add_all([opp_type, channel, customer, admin, *companies, *fields])
    db.session.flush()
    partners = [User(email=PARTNER if i == 1 else f"partner{i}@bench-fields", name=f"Bench partner {i}",
                     role="partner", company_id=c.id, language="it") for i, c in enumerate(companies)]
    for user in partners:
        user.set_password(PASSWORD)
    db.session.add_all(partners)
    db.session.commit()
    inst = [c.id for c in companies if c.kind == "installer"]
    comm = [c.id for c in companies if c.kind == "commercial"]
    conn = db.session.connection()
    first = (db.session.scalar(db.select(db.func.max(Opportunity.id))) or 0) + 1
    start = datetime(2025, 1, 1)
    _insert(conn, Opportunity.__table__, [
        {"id": first + i, "name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
         "customer_id": customer.id, "amount": 1000, "installer_id": rnd.choice(inst), "commercial_id": rnd.choice(comm),
         "created_at": start + timedelta(minutes=5 * i), "owner_id": admin.id} for i in range(opps)])
    values, now = [], datetime(2026, 6, 1)
    for i in range(opps):
        if rnd.random() < 0.1:
            continue  # a tenth without values
        oid = first + i
        chosen = sorted(rnd.sample(REGIONS, rnd.randint(1, 3)), key=REGIONS.index)
        values += [_value(oid, region.id, now, text=rnd.choice(REGIONS)),
                   _value(oid, areas.id, now, text="|" + "|".join(chosen) + "|"),
                   _value(oid, budget.id, now, number=Decimal(rnd.randint(100000, 5000000)) / 100),
                   _value(oid, survey.id, now, day=date(2026, 1, 1) + timedelta(days=rnd.randrange(365)))]
    _insert(conn, FieldValue.__table__, values)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("opportunity", "field_value"):
            db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in ("opportunity", "field_value", "user"):
                auto.execute(db.text(f'VACUUM ANALYZE "{table}"'))
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def _value(opp_id: int, field_id: int, now: datetime, **typed) -> dict:
    """A field_value row with every typed column given (one INSERT shape for the whole batch)."""
    return {"opportunity_id": opp_id, "field_id": field_id, "updated_at": now,
            **{"text": None, "long_text": None, "number": None, "day": None, "flag": None, **typed}}


def _insert(conn, table, rows) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def measure(database_url: str, repeat: int = 15, opps: int = 100_000, verbose: bool = True) -> dict:
    """Seed `database_url` (reused when already seeded) and time the list's filtered first pages; returns
    {"custom_field_filter_p95_ms": p95 over every sample, as admin and as partner}. Give it a throwaway
    database (bench.support.database_url): the 100,000 opportunities stay in it."""
    app = seed(database_url, opps)
    samples: list[float] = []
    for email in (ADMIN, PARTNER):
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        for query in QUERIES:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(f"/opportunities?{query}")
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (query, response.status_code, response.data[:300])
            samples += times
            if verbose:
                print(f"  {email:22} {query:52} p50 {percentile(times, 50):7.1f} ms  p95 {percentile(times, 95):7.1f} ms")
    with app.app_context():
        from extensions import db

        db.engine.dispose()
    return {"custom_field_filter_p95_ms": round(percentile(samples, 95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    worst = worse_of_backends(measure, "custom_field_filter_p95_ms", args.pg, args.repeat, args.opportunities)
    print(json.dumps({"custom_field_filter_p95_ms": worst}))

if __name__ == "__main__":
    main()
