"""Round trips per run (issue 16, `round_trips_per_run`): the statements and commits the engine sends to the
database for one database-only run (open_substate) and for one send-email run (to an aiosmtpd sink on
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

from comms import Sink  # noqa: E402
from support import database_url, drop_schemas, free_port, redis_url  # noqa: E402

VERBOSE = "-v" in sys.argv  # print each statement counted


def _flow(smtp_port: int):
    """S1 opens S2 on open (database only); S3 sends the client an email on open."""
    from extensions import db
    from models import (
        Action,
        Channel,
        Customer,
        EmailTemplate,
        Opportunity,
        OpportunityType,
        SmtpCredential,
        State,
        Substate,
    )

    db.create_all()
    flow = OpportunityType(name="Round trips", name_i18n={})
    state = State(name="S", name_i18n={}, position=0)
    s1, s2, s3 = (Substate(name=f"S{i}", name_i18n={}, position=i) for i in (1, 2, 3))
    state.substates.extend([s1, s2, s3])
    flow.states.append(state)
    customer = Customer(name="Mario Rossi", email="mario@example.it", language="it")
    template = EmailTemplate(name="Bench", subjects={"it": "Offerta {{ opportunity.name }}"},
                             bodies={"it": "<p>Gentile {{ client.name }}, {{ opportunity.amount }}.</p>"})
    cred = SmtpCredential(name="Sink", host="127.0.0.1", port=smtp_port, security="none",
                          from_address="bench@example.com")
    opps = [Opportunity(name=f"Impianto {i}", type=flow, channel=Channel(name=f"Web {i}"), customer=customer,
                        amount=1000) for i in range(4)]
    db.session.add_all([flow, template, cred, *opps])
    db.session.flush()
    db.session.add_all([
        Action(substate=s1, group="on_open", kind="open_substate", config={"substate_id": s2.id}, position=0),
        Action(substate=s3, group="on_open", kind="send_email", position=0,
               config={"email_template_id": template.id, "smtp_credential_id": cred.id, "recipient": "client",
                       "extra_user_ids": []}),
    ])
    db.session.commit()
    return [o.id for o in opps], s1.id, s3.id


class Counter:
    """Statements and commits on the app's engine while counting."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.statements = self.commits = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        self.statements += self.on
        if self.on and VERBOSE:
            print("   ", " ".join(statement.split())[:110])

    def _commit(self, *_args) -> None:
        self.commits += self.on
        if self.on and VERBOSE:
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
    run_id = db.session.execute(select(ActionRun.id).where(ActionRun.substate_id == substate_id)
                                .order_by(ActionRun.id.desc()).limit(1)).scalar_one()
    db.session.remove()
    counter.statements = counter.commits = 0
    counter.on = True
    try:
        word = executor.execute(run_id)
    finally:
        counter.on = False
    db.session.remove()
    status = db.session.get(ActionRun, run_id).status
    assert (word, status) == ("done", "succeeded"), (word, status)
    return counter.statements + counter.commits


def measure(url: str) -> dict:
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
            counter = Counter(db.engine)
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


def round_trips(pg: str | None) -> dict:
    """The counts on SQLite, and on PostgreSQL when `pg` is given."""
    out = {"sqlite": measure(database_url(None))}
    if pg:
        try:
            out["postgresql"] = measure(database_url(pg))
        finally:
            drop_schemas()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("-v", action="store_true", help="print each statement counted")
    args = parser.parse_args()
    print(json.dumps({"round_trips_per_run": round_trips(args.pg)}))


if __name__ == "__main__":
    main()
