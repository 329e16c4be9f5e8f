"""Round trips per run (issue 16, `round_trips_per_run`): the statements, BEGINs and commits the engine sends to
the database for one database-only run (open_substate) and for one send-email run (to an aiosmtpd sink on
loopback), counted rather than timed, so the figure is stable on a busy machine.

The runs are executed in this process by engine.executor.execute, the function the RQ job calls, after the
opening that creates them has committed; the count starts at the claim and ends at the run's last commit.

    .venv/bin/python bench/round_trips.py [--pg postgresql://…]

Ends with one JSON line: {"round_trips_per_run": {"sqlite": {"database_only": …, "send_email": …},
"postgresql": {…}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from comms import Sink, build  # noqa: E402
from support import database_url, drop_schemas, free_port, redis_url  # noqa: E402


def _flow(smtp_port: int):
    """bench/comms.py's flow (its substate sends the client an email on open), with its SMTP account on the
    sink's port, and two more substates in its state: opening the first opens the second (database only).
    Returns (opportunity ids, the database-only substate, the email substate)."""
    from extensions import db
    from models import Action, Substate

    cred, email_sub, opp_ids, _template = build(4)
    cred.port = smtp_port
    first, second = Substate(name="S2", name_i18n={}, position=1), Substate(name="S3", name_i18n={}, position=2)
    email_sub.state.substates.extend([first, second])
    db.session.flush()
    db.session.add(Action(substate=first, group="on_open", kind="open_substate", config={"substate_id": second.id},
                          position=0))
    db.session.commit()
    return opp_ids, first.id, email_sub.id


class Counter:
    """What the app's engine sends while counting: statements and commits, and on PostgreSQL the BEGINs psycopg
    sends before a transaction's first statement, each a round trip of its own; a commit counts where it
    reaches the server (engine.alone: none after a statement sent alone). Printed as they come when `verbose`."""

    def __init__(self, engine, verbose: bool = False) -> None:
        from sqlalchemy import event

        self.statements = self.commits = 0
        self.on, self.verbose = False, verbose
        self.postgresql = engine.dialect.name == "postgresql"
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn, _cursor, statement, *_args) -> None:
        from engine import alone

        if self.on and self.postgresql and alone.begins(conn.connection.dbapi_connection):
            self.statements += 1
            if self.verbose:
                print("    BEGIN")
        self.statements += self.on
        if self.on and self.verbose:
            print("   ", " ".join(statement.split())[:110])

    def _commit(self, conn) -> None:
        from engine import alone

        if self.postgresql and not alone.commits(conn.connection.dbapi_connection):
            return
        self.commits += self.on
        if self.on and self.verbose:
            print("    COMMIT")


def _one_run(counter: Counter, opp_id: int, substate_id: int) -> int:
    """Open the substate (committed, not counted), then execute its run as a worker would: statements + commits."""
    from sqlalchemy import select

    from engine import dispatch, executor
    from extensions import db
    from models import ActionRun, Opportunity
    from services.substates import open_substate

    with dispatch.held():  # the run is executed here, not by a worker
        open_substate(db.session.get(Opportunity, opp_id), substate_id, None)
        db.session.commit()
    run_id, kind = db.session.execute(select(ActionRun.id, ActionRun.kind).where(ActionRun.substate_id == substate_id)
                                      .order_by(ActionRun.id.desc()).limit(1)).one()
    db.session.remove()
    counter.statements = counter.commits = 0
    counter.on = True
    try:
        word = executor.execute(run_id, kind)  # as the job calls it: the kind named when it was enqueued
    finally:
        counter.on = False
    db.session.remove()
    status = db.session.get(ActionRun, run_id).status
    assert (word, status) == ("done", "succeeded"), (word, status, db.session.get(ActionRun, run_id).error)
    return counter.statements + counter.commits


def measure(url: str, verbose: bool = False) -> dict:
    """{"database_only": n, "send_email": n} on the database at `url` (the second run of each: warm), each
    run on an opportunity of its own."""
    from aiosmtpd.controller import Controller

    from app import create_app
    from extensions import db

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    redis, redis_proc = redis_url()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": redis})
    try:
        with app.app_context():
            opp_ids, s1, s3 = _flow(port)
            counter = Counter(db.engine, verbose)
            figures = {}
            for name, sub, opps in (("database_only", s1, opp_ids[:2]), ("send_email", s3, opp_ids[2:])):
                _one_run(counter, opps[0], sub)
                figures[name] = _one_run(counter, opps[1], sub)
            db.session.remove()
            db.engine.dispose()
        return figures
    finally:
        controller.stop()
        if redis_proc:
            redis_proc.terminate()


def round_trips(pg: str | None, verbose: bool = False) -> dict:
    """The counts on SQLite, and on PostgreSQL when `pg` is given."""
    out = {"sqlite": measure(database_url(None), verbose)}
    if pg:
        try:
            out["postgresql"] = measure(database_url(pg), verbose)
        finally:
            drop_schemas()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("-v", action="store_true", help="print each statement counted")
    args = parser.parse_args()
    print(json.dumps({"round_trips_per_run": round_trips(args.pg, args.v)}))


if __name__ == "__main__":
    main()
