"""Outbound webhook lateness (issue 13): a substate opened and committed → its signed delivery received by a
local HTTP receiver, through a real RQ worker.

    .venv/bin/python bench/webhook_lateness.py [--pg postgresql://…] [--events 200]

Starts its own Redis (unless REDIS_URL is set), database (a temporary SQLite file, and a fresh PostgreSQL
schema when --pg or TEST_DATABASE_URL is given) and two workers; a receiver (http.server on a loopback port,
allowed in Settings → Webhooks' internal hosts) verifies each signature. One event at a time: open a
substate on the next opportunity, commit, wait until the receiver has it; the first few warm the workers up
and are not counted. Ends with one JSON line: webhook_lateness_p50_ms, webhook_lateness_p99_ms (the worse
of the backends; target ≤ 1000 ms). `measure(database_url, events)` returns one backend's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import engine_bench, percentile, worse_of_backends  # noqa: E402

WORKERS = 2
WARM_UP = 2 * WORKERS


class Receiver:
    """A loopback receiver recording when each opportunity's delivery arrived (verified, else refused 401)."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[int, float] = {}
        self.bad = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.time()
                stamp = self.headers.get("X-Oppflow-Timestamp", "")
                expected = "sha256=" + hmac.new(owner.secret.encode(), stamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Oppflow-Signature", ""))
                if ok:
                    owner.arrived.setdefault(json.loads(body)["data"]["opportunity"]["id"], at)
                else:
                    owner.bad += 1
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build(count: int, receiver: Receiver):
    """A flow with one substate, `count` opportunities, and a webhook to the receiver for substate.opened."""
    from extensions import db
    from models import Channel, Customer, Opportunity, OpportunityType, State, Substate
    from services import outbound_webhooks as svc

    db.create_all()
    flow = OpportunityType(name="Bench webhook flow", name_i18n={})
    state = State(name="Work", name_i18n={}, position=0)
    sub = Substate(name="Contacted", name_i18n={}, position=0)
    state.substates.append(sub)
    flow.states.append(state)
    channel, customer = Channel(name="Web"), Customer(name="Bench customer")
    db.session.add_all([flow, channel, customer])
    db.session.flush()
    opps = [Opportunity(name=f"Bench {uuid.uuid4().hex[:6]}", type=flow, channel=channel, customer=customer)
            for _ in range(count)]
    db.session.add_all(opps)
    svc.save_allowed_hosts("127.0.0.1")
    _sub, receiver.secret = svc.create(svc.SubscriptionData("Bench receiver", receiver.url, ["substate.opened"]))
    db.session.commit()
    return sub, [o.id for o in opps]


def latencies(sub, ids, receiver: Receiver, timeout: float = 10) -> list[float]:
    """Milliseconds from each opening's commit to its delivery's arrival, one event at a time."""
    from extensions import db
    from models import Opportunity
    from services.substates import open_substate

    out = []
    for opp_id in ids:
        open_substate(db.session.get(Opportunity, opp_id), sub.id, None)
        db.session.commit()
        committed = time.time()
        deadline = time.monotonic() + timeout
        while opp_id not in receiver.arrived and time.monotonic() < deadline:
            time.sleep(0.002)
        if opp_id in receiver.arrived:
            out.append((receiver.arrived[opp_id] - committed) * 1000)
    return out


def measure(database_url: str | None, events: int = 200) -> dict:
    """{"webhook_lateness_p99_ms": …} (and p50, how many arrived, refused signatures) on this database."""
    receiver = Receiver()
    try:
        with engine_bench(database_url) as (app, queue, pool), app.app_context():
            sub, ids = build(events + WARM_UP, receiver)
            pool.start(WORKERS, queue)
            time.sleep(1)
            latencies(sub, ids[:WARM_UP], receiver)
            lat = latencies(sub, ids[WARM_UP:], receiver)
    finally:
        receiver.close()
    return {"webhook_lateness_p50_ms": round(percentile(lat, 50), 1),
            "webhook_lateness_p99_ms": round(percentile(lat, 99), 1) if len(lat) == events else float("inf"),
            "webhook_delivered": len(lat), "webhook_events": events, "webhook_bad_signatures": receiver.bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    worst = worse_of_backends(measure, "webhook_lateness_p99_ms", args.pg, args.events)
    print(f"substate opened and committed → signed delivery received ({args.events} events, {WORKERS} workers): "
          f"p99 {worst} ms, the worse backend (target ≤ 1000 ms)")
    print(json.dumps({"webhook_lateness_p99_ms": worst}))


if __name__ == "__main__":
    main()
