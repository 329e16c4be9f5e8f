"""Seed a database at scale for the history bench: N opportunities and M action runs with their detail
rows (emails, activities, assignments, files, signatures; tasks, task status changes, notifications,
history entries of the monitoring rules), by bulk Core inserts (executemany in large batches).

    .venv/bin/python bench/seed_scale.py [--opps 100000] [--runs 1000000] [--pg postgresql://…] [--keep NAME]

--keep names a SQLite file (or, with --pg, a schema) that is kept and reused by the next run of the same size.
"""

import argparse
import random
import sys
import time
from datetime import datetime, timedelta

from support import database_url

KINDS = ["send_email", "create_activity", "open_substate", "close_substate", "assign_installer", "assign_commercial",
         "generate_report", "export", "esignature", "external_source",
         # The monitoring rules (issue 11): the history's Tasks, Notifications, History entries, Triggers tabs.
         "create_task", "complete_tasks", "notify_supervisor", "add_history_entry", "trigger_task_status"]
STATUSES = ["succeeded"] * 8 + ["failed", "cancelled", "scheduled", "pending", "skipped"]
BATCH = 20_000
CHUNK = 100_000
# Bumped when the rows change, so that --keep does not reuse a database seeded the old way.
SEED_VERSION = 3


def _insert(conn, table, rows):
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def _seeded(conn, opps: int, runs: int) -> bool:
    """Whether this database already holds a seed of this size (then --keep reuses it)."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("action_run"):
        return False
    counts = conn.execute(text("SELECT (SELECT count(*) FROM opportunity), (SELECT max(id) FROM action_run), "
                               "(SELECT min(name) FROM customer)")).one()
    return tuple(counts) == (opps, runs, f"Scale customer {SEED_VERSION}")


def _ensure_indexes(conn) -> int:
    """Create the models' indexes a reused database lacks (an index added since it was seeded)."""
    from extensions import db

    made = 0
    for table in db.metadata.sorted_tables:
        for index in table.indexes:
            if not _has_index(conn, index.name):
                index.create(conn)
                made += 1
    return made


def _has_index(conn, name: str) -> bool:
    from sqlalchemy import text

    sql = ("SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :n"
           if conn.dialect.name == "postgresql" else "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n")
    return conn.execute(text(sql), {"n": name}).first() is not None


def seed(url: str, opps: int = 100_000, runs: int = 1_000_000, reuse: bool = False):
    """Create the schema and the rows; returns the app (for the bench). With `reuse`, a database that
    already holds a seed of this size is kept as it is (only missing indexes are added)."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    from app import create_app
    from extensions import db

    # No login rate limit: the bench logs in again on every run (the limit is shared through Redis).
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    started = time.perf_counter()
    with app.app_context():
        if reuse and _seeded(db.session.connection(), opps, runs):
            made = _ensure_indexes(db.session.connection())
            if made:
                db.session.execute(db.text("ANALYZE"))
            db.session.commit()
            print(f"reused the seeded database ({made} new indexes) in {time.perf_counter() - started:.1f} s")
            return app
        db.session.rollback()
        if reuse:  # a kept database of another size or seed version: start it again
            _start_again()
        _seed_rows(opps, runs)
    print(f"seeded {opps} opportunities, {runs} runs in {time.perf_counter() - started:.1f} s ({url.split('?')[0]})")
    return app


def _start_again() -> None:
    """Empty a kept database fast: remove the SQLite file, or drop and recreate the PostgreSQL schema
    (DROP TABLE would first delete every row to apply the foreign keys' ON DELETE actions)."""
    import os

    from extensions import db

    if db.engine.dialect.name == "postgresql":
        schema = db.session.execute(db.text("SELECT current_schema()")).scalar_one()
        db.session.execute(db.text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.session.execute(db.text(f'CREATE SCHEMA "{schema}"'))
        db.session.commit()
    else:
        db.session.close()
        db.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db.engine.url.database + suffix):
                os.remove(db.engine.url.database + suffix)


def _seed_rows(opps: int, runs: int) -> None:
    from extensions import db
    from models import (
        ActionRun,
        Activity,
        ActivityType,
        Assignment,
        Channel,
        Customer,
        HistoryEntry,
        Notification,
        Opportunity,
        OpportunityType,
        OutgoingEmail,
        PartnerCompany,
        ReportTemplate,
        SignatureRequest,
        State,
        StoredFile,
        Substate,
        Task,
        TaskStatusChange,
        Trigger,
        User,
    )
    from models.catalog import ExportTemplate

    rnd = random.Random(8)
    db.create_all()
    opp_type = OpportunityType(name="Solar", name_i18n={})
    state = State(name="Sale", name_i18n={}, position=0)
    state.substates = [Substate(name=f"Step {i}", name_i18n={}, position=i) for i in range(4)]
    opp_type.states.append(state)
    # After rows already there (the demo's, for bench/web_load.py): ids follow theirs, and the channel's name
    # is not the demo's "Web".
    first_opp, first_run, first_task, first_request = db.session.execute(db.text(
        "SELECT (SELECT coalesce(max(id), 0) FROM opportunity), (SELECT coalesce(max(id), 0) FROM action_run), "
        "(SELECT coalesce(max(id), 0) FROM task), (SELECT coalesce(max(id), 0) FROM signature_request)")).one()
    channel = Channel(name="Scale web" if first_opp else "Web")
    customer = Customer(name=f"Scale customer {SEED_VERSION}", email="c@example.net")
    companies = [PartnerCompany(name=f"Company {i}", kind="installer" if i % 2 else "commercial")
                 for i in range(20)]
    atypes = [ActivityType(name=f"Activity {i}", name_i18n={}, active=True) for i in range(5)]
    reports = [ReportTemplate(label=f"Report {i}") for i in range(3)]
    exports = [ExportTemplate(name=f"Export {i}", file_format=("csv", "xlsx")[i % 2]) for i in range(2)]
    admin = User(email="admin@bench", name="Admin", role="admin")
    admin.set_password("bench-password")
    db.session.add_all([opp_type, channel, customer, admin, *companies, *atypes, *reports, *exports])
    db.session.flush()
    partner = User(email="partner@bench", name="Partner", role="partner", company_id=companies[1].id)
    partner.set_password("bench-password")
    managers = [User(email=f"manager{i}@bench", name=f"Manager {i}", role="manager", password_hash="!")
                for i in range(10)]
    db.session.add_all([partner, *managers])
    db.session.flush()
    triggers = [Trigger(substate_id=state.substates[i % 4].id, kind="task_status", name=f"Trigger {i}",
                        config={"status": "completed"}) for i in range(5)]
    db.session.add_all(triggers)
    db.session.commit()
    inst = [c.id for c in companies if c.kind == "installer"]
    comm = [c.id for c in companies if c.kind == "commercial"]
    subs = [s.id for s in state.substates]
    now = datetime(2026, 1, 1)
    conn = db.session.connection()
    # Bulk rows go in without the secondary indexes, which are built once at the end (much faster).
    for table in (Opportunity, ActionRun, OutgoingEmail, Activity, Assignment, StoredFile, SignatureRequest, Task,
                  TaskStatusChange, Notification, HistoryEntry):
        for index in table.__table__.indexes:
            index.drop(conn)
    _insert(conn, Opportunity.__table__, [
        {"id": i, "name": f"Opportunity {i:06d}", "type_id": opp_type.id, "channel_id": channel.id,
         "customer_id": customer.id, "amount": 1000, "installer_id": rnd.choice(inst),
         "commercial_id": rnd.choice(comm), "created_at": now, "owner_id": admin.id}
        for i in range(first_opp + 1, first_opp + opps + 1)])
    ctx = {"rnd": rnd, "inst": inst, "comm": comm, "atypes": [t.id for t in atypes], "requests": [],
           "reports": [(t.id, t.label) for t in reports], "exports": [(t.id, t.name, t.file_format) for t in exports],
           "users": [u.id for u in managers], "partner": partner.id, "tasks": [],
           "first_task": first_task, "first_request": first_request,
           "triggers": [(t.id, t.substate_id) for t in triggers]}
    tables = {"action_run": ActionRun, "outgoing_email": OutgoingEmail, "activity": Activity,
              "assignment": Assignment, "stored_file": StoredFile, "signature_request": SignatureRequest,
              "task": Task, "task_status_change": TaskStatusChange, "notification": Notification,
              "history_entry": HistoryEntry}
    # Generated and inserted a slice at a time: a million dicts at once would hold gigabytes.
    for lo in range(1, runs + 1, CHUNK):
        rows = {name: [] for name in tables}
        for i in range(lo, min(lo + CHUNK, runs + 1)):
            kind, status, opp_id = KINDS[i % len(KINDS)], rnd.choice(STATUSES), first_opp + rnd.randint(1, opps)
            when = now + timedelta(seconds=i * 30)
            run = {"id": first_run + i, "opportunity_id": opp_id, "kind": kind, "config": {}, "trigger": "on_open",
                   "status": status, "due_at": when, "created_at": when, "attempts": 1, "chain_id": "c",
                   "chain_depth": 0, "sequence": 0, "has_next": False, "result": {},
                   "substate_id": rnd.choice(subs), "error": "550 rejected" if status == "failed" else None,
                   "reason": None, "trigger_id": None}
            rows["action_run"].append(run)
            _details(ctx, rows, run, when)
        for name, model in tables.items():  # runs first: the details refer to them
            _insert(conn, model.__table__, rows[name])
    _ensure_indexes(conn)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("opportunity", "action_run", "outgoing_email", "activity", "assignment", "stored_file",
                      "signature_request", "task", "task_status_change", "notification", "history_entry"):
            db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        # As autovacuum would have by now: statistics, and the visibility map index-only scans rely on.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in db.metadata.sorted_tables:
                auto.execute(db.text(f'VACUUM ANALYZE "{table.name}"'))
    else:
        db.session.execute(db.text("ANALYZE"))
    db.session.commit()


def _email(run: dict, when, template: str | None, credentials: str) -> dict:
    return {"run_id": run["id"], "opportunity_id": run["opportunity_id"], "kind": run["kind"],
            "template_name": template, "recipient": f"client{run['opportunity_id']}@example.net",
            "recipient_role": "client", "credentials_name": credentials, "sender": "noreply@example.com",
            "subject": "", "status": "sent" if run["status"] == "succeeded" else "failed", "attachments": [],
            "created_at": when}


def _file(run: dict, when, ext: str) -> dict:
    return {"run_id": run["id"], "opportunity_id": run["opportunity_id"], "kind": run["kind"],
            "filename": f"{run['kind']}-{run['id']}.{ext}", "content_type": "application/octet-stream",
            "size": 1000, "sha256": "0" * 64, "path": f"bench/{run['id']}.{ext}", "created_at": when}


def _details(ctx: dict, rows: dict, run: dict, when) -> None:
    """The detail rows a run of this kind and status leaves, as the engine writes them."""
    rnd, kind, status, i = ctx["rnd"], run["kind"], run["status"], run["id"]
    done, ended = status == "succeeded", status in ("succeeded", "failed")
    if kind == "send_email" and ended:
        rows["outgoing_email"].append(_email(run, when, f"Template {rnd.randrange(7)}", f"SMTP {rnd.randrange(3)}"))
    elif kind == "create_activity" and done:
        rows["activity"].append({"opportunity_id": run["opportunity_id"], "type_id": rnd.choice(ctx["atypes"]),
                                 "description": "", "run_id": i, "created_at": when,
                                 "completed_at": when if rnd.random() < 0.5 else None})
    elif kind.startswith("assign") and done:
        pk = kind.split("_")[1]
        rows["assignment"].append({"opportunity_id": run["opportunity_id"],
                                   "company_id": rnd.choice(ctx["inst"] if pk == "installer" else ctx["comm"]),
                                   "partner_kind": pk, "status": rnd.choice(["pending", "accepted", "rejected"]),
                                   "run_id": i, "assigned_at": when})
    elif kind == "generate_report":
        template_id, label = rnd.choice(ctx["reports"])
        run["config"] = {"report_template_id": template_id}
        if ended:
            rows["outgoing_email"].append(_email(run, when, "Report mail", f"SMTP {rnd.randrange(3)}"))
        if done:
            run["result"] = {"report": label}
            rows["stored_file"].append(_file(run, when, "pdf"))
    elif kind == "export":
        template_id, name, fmt = rnd.choice(ctx["exports"])
        run["config"] = {"export_template_id": template_id}
        if ended:
            rows["outgoing_email"].append(_email(run, when, "Export mail", f"SMTP {rnd.randrange(3)}"))
        if done:
            run["result"] = {"export_template": name, "export_type": fmt, "extension": fmt}
            rows["stored_file"].append(_file(run, when, fmt))
    elif kind == "esignature":
        run["config"] = {"report_template_id": rnd.choice(ctx["reports"])[0]}
        if done:
            ident = ctx["first_request"] + len(ctx["requests"]) + 1
            ctx["requests"].append(ident)
            rows["signature_request"].append({
                "id": ident, "run_id": i, "opportunity_id": run["opportunity_id"], "source_name": "esign",
                "provider": rnd.choice(["simulator", "acme"]), "reference": f"ref-{i}",
                "signer_email": f"client{run['opportunity_id']}@example.net", "signer_name": "Client",
                "language": "en", "status": rnd.choice(["sent", "signed", "declined"]),
                "document_name": "Contract.pdf", "document": b"", "document_sha256": "0" * 64,
                "created_at": when, "updated_at": when})
    elif kind in MONITORING:
        MONITORING[kind](ctx, rows, run, when)
    elif kind == "external_source" and ctx["requests"]:
        event = rnd.choice(["signed", "declined"])
        run["config"] = {"event": event}
        if done:
            run["result"] = {"source": "esign", "event": event, "signature_request_id": ctx["requests"][-1]}


def _create_task(ctx: dict, rows: dict, run: dict, when) -> None:
    rnd = ctx["rnd"]
    if run["status"] == "succeeded":
        ident = ctx["first_task"] + len(ctx["tasks"]) + 1
        ctx["tasks"].append((ident, run["opportunity_id"]))
        rows["task"].append({"id": ident, "opportunity_id": run["opportunity_id"], "substate_id": run["substate_id"],
                             "title": f"Task {rnd.randrange(20)}", "description": "",
                             "responsible_id": rnd.choice(ctx["users"]), "deadline": when + timedelta(days=2),
                             "status": rnd.choice(["todo", "todo", "in_progress", "completed", "deferred"]),
                             "created_at": when, "run_id": run["id"], "by_automation": True})


def _complete_tasks(ctx: dict, rows: dict, run: dict, when) -> None:
    rnd = ctx["rnd"]
    if run["status"] == "succeeded" and ctx["tasks"]:
        # The newest tasks created (on other opportunities too: the rows, not the flow, are what is measured).
        done = ctx["tasks"][-rnd.randint(1, 3):]
        run["opportunity_id"] = done[-1][1]
        run["result"] = {"completed_task_ids": [ident for ident, _opp in done]}
        for ident, _opp in done:
            rows["task_status_change"].append({"task_id": ident, "from_status": "todo", "to_status": "completed",
                                               "at": when, "run_id": run["id"]})


def _notify(ctx: dict, rows: dict, run: dict, when) -> None:
    rnd = ctx["rnd"]
    if run["status"] == "skipped":
        run["reason"] = "no_supervisor"
    elif run["status"] == "succeeded":
        # Now and then a partner user is among the chosen recipients.
        recipients = rnd.sample(ctx["users"], rnd.randint(1, 2)) + ([ctx["partner"]] if rnd.random() < 0.05 else [])
        for user_id in recipients:
            rows["notification"].append({
                "user_id": user_id, "kind": "notify_supervisor", "params": {}, "run_id": run["id"],
                "body": f"Rule {rnd.randrange(10)}: Opportunity {run['opportunity_id']:06d} waits",
                "link": f"/opportunities/{run['opportunity_id']}", "created_at": when,
                "read_at": when if rnd.random() < 0.5 else None})


def _history_entry(ctx: dict, rows: dict, run: dict, when) -> None:
    rnd = ctx["rnd"]
    if run["status"] == "succeeded":
        rows["history_entry"].append({"opportunity_id": run["opportunity_id"], "run_id": run["id"],
                                      "text": f"Rule {rnd.randrange(10)} broken", "created_at": when,
                                      "author_id": rnd.choice(ctx["users"])})


def _trigger(ctx: dict, rows: dict, run: dict, when) -> None:
    rnd = ctx["rnd"]
    trigger_id, substate_id = rnd.choice(ctx["triggers"])
    run["trigger"], run["trigger_id"] = "trigger", trigger_id
    run["status"] = rnd.choice(["succeeded"] * 6 + ["skipped", "skipped", "failed"])
    if run["status"] == "skipped":
        run["reason"] = rnd.choice(["already_open", "moving_back", "chain_guard"])
    elif run["status"] == "failed":
        run["reason"], run["error"] = "chain_depth", None
    task = ctx["tasks"][-1][0] if ctx["tasks"] else None
    run["result"] = {"task_id": task, "change_id": None,
                     "substate_id": substate_id if run["status"] == "succeeded" else None}


MONITORING = {"create_task": _create_task, "complete_tasks": _complete_tasks, "notify_supervisor": _notify,
              "add_history_entry": _history_entry, "trigger_task_status": _trigger}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--pg")
    parser.add_argument("--keep", help="SQLite file or PostgreSQL schema to keep, and reuse when already seeded")
    args = parser.parse_args()
    seed(database_url(args.pg, args.keep), args.opps, args.runs, reuse=bool(args.keep))


if __name__ == "__main__":
    main()
