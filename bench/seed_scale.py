"""Seed a database at scale for the history bench: N opportunities and M action runs with their detail
rows (emails, activities, assignments), by bulk Core inserts (executemany in large batches).

    .venv/bin/python bench/seed_scale.py [--opps 100000] [--runs 1000000] [--pg postgresql://…]
"""

import argparse
import random
import sys
import time
from datetime import datetime, timedelta

from support import database_url

KINDS = ["send_email", "create_activity", "open_substate", "close_substate", "assign_installer", "assign_commercial"]
STATUSES = ["succeeded"] * 8 + ["failed", "cancelled", "scheduled", "pending", "skipped"]
BATCH = 20_000


def _insert(conn, table, rows):
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def seed(url: str, opps: int = 100_000, runs: int = 1_000_000):
    """Create the schema and the rows; returns the app (for the bench) and the partner user ids."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    from app import create_app
    from extensions import db
    from models import (
        ActionRun,
        Activity,
        ActivityType,
        Assignment,
        Channel,
        Customer,
        Opportunity,
        OpportunityType,
        OutgoingEmail,
        PartnerCompany,
        State,
        Substate,
        User,
    )

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    rnd = random.Random(8)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        opp_type = OpportunityType(name="Solar", name_i18n={})
        state = State(name="Sale", name_i18n={}, position=0)
        state.substates = [Substate(name=f"Step {i}", name_i18n={}, position=i) for i in range(4)]
        opp_type.states.append(state)
        channel, customer = Channel(name="Web"), Customer(name="Scale customer", email="c@example.net")
        companies = [PartnerCompany(name=f"Company {i}", kind="installer" if i % 2 else "commercial")
                     for i in range(20)]
        atypes = [ActivityType(name=f"Activity {i}", name_i18n={}, active=True) for i in range(5)]
        admin = User(email="admin@bench", name="Admin", role="admin")
        admin.set_password("bench-password")
        db.session.add_all([opp_type, channel, customer, admin, *companies, *atypes])
        db.session.flush()
        partner = User(email="partner@bench", name="Partner", role="partner", company_id=companies[1].id)
        partner.set_password("bench-password")
        db.session.add(partner)
        db.session.commit()
        inst = [c.id for c in companies if c.kind == "installer"]
        comm = [c.id for c in companies if c.kind == "commercial"]
        subs = [s.id for s in state.substates]
        now = datetime(2026, 1, 1)
        conn = db.session.connection()
        _insert(conn, Opportunity.__table__, [
            {"id": i, "name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
             "customer_id": customer.id, "amount": 1000, "installer_id": rnd.choice(inst),
             "commercial_id": rnd.choice(comm), "created_at": now, "owner_id": admin.id}
            for i in range(1, opps + 1)])
        run_rows, emails, acts, assigns = [], [], [], []
        for i in range(1, runs + 1):
            kind, status, opp_id = KINDS[i % len(KINDS)], rnd.choice(STATUSES), rnd.randint(1, opps)
            when = now + timedelta(seconds=i * 30)
            run_rows.append({"id": i, "opportunity_id": opp_id, "kind": kind, "config": {}, "trigger": "on_open",
                             "status": status, "due_at": when, "created_at": when, "attempts": 1, "chain_id": "c",
                             "chain_depth": 0, "sequence": 0, "has_next": False, "result": {},
                             "substate_id": rnd.choice(subs), "error": "550 rejected" if status == "failed" else None})
            if kind == "send_email" and status in ("succeeded", "failed"):
                emails.append({"run_id": i, "opportunity_id": opp_id, "kind": kind, "template_name": f"Template {i % 7}",
                               "recipient": f"client{opp_id}@example.net", "recipient_role": "client",
                               "credentials_name": f"SMTP {i % 3}", "sender": "noreply@example.com", "subject": "",
                               "status": "sent" if status == "succeeded" else "failed", "attachments": [],
                               "created_at": when})
            elif kind == "create_activity" and status == "succeeded":
                acts.append({"opportunity_id": opp_id, "type_id": atypes[i % 5].id, "description": "", "run_id": i,
                             "created_at": when, "completed_at": when if i % 2 else None})
            elif kind.startswith("assign") and status == "succeeded":
                pk = kind.split("_")[1]
                assigns.append({"opportunity_id": opp_id, "company_id": rnd.choice(inst if pk == "installer" else comm),
                                "partner_kind": pk, "status": rnd.choice(["pending", "accepted", "rejected"]),
                                "run_id": i, "assigned_at": when})
        for table, rows in [(ActionRun.__table__, run_rows), (OutgoingEmail.__table__, emails),
                            (Activity.__table__, acts), (Assignment.__table__, assigns)]:
            _insert(conn, table, rows)
        db.session.commit()
        if url.startswith("postgresql"):
            for table in ("opportunity", "action_run", "outgoing_email", "activity", "assignment"):
                db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                           f"(SELECT max(id) FROM {table}))"))
            db.session.commit()
            db.session.execute(db.text("ANALYZE"))
        else:
            db.session.execute(db.text("ANALYZE"))
        db.session.commit()
    print(f"seeded {opps} opportunities, {runs} runs in {time.perf_counter() - started:.1f} s ({url.split('?')[0]})")
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--pg")
    args = parser.parse_args()
    seed(database_url(args.pg), args.opps, args.runs)


if __name__ == "__main__":
    main()
