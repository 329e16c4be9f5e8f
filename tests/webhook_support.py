"""Outbound webhooks in tests: a seeded subscription with a logged delivery (for the walks and the access
tests), and a real HTTP receiver on a loopback port that records what arrives and answers as told."""

from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field

from extensions import db
from models import WebhookDelivery, WebhookSubscription
from services import secrets as secret_store

SECRET = "whsec_test-secret"


def seed_webhook(url: str = "https://93.184.215.14/hook", name: str = "Walked webhook"):
    """A subscription (secret SECRET) with one failed delivery in its log; committed."""
    sub = WebhookSubscription(name=name, url=url, events=["substate.opened"], active=True,
                              secret_encrypted=secret_store.encrypt(SECRET))
    db.session.add(sub)
    db.session.flush()
    delivery = WebhookDelivery(subscription_id=sub.id, key="k" * 32, event_id="evt_walked", event_type="substate.opened",
                               payload={"id": "evt_walked", "type": "substate.opened", "data": {}}, status="failed",
                               attempts=6, status_code=500, duration_ms=12, response_excerpt="oops", error="HTTP 500")
    db.session.add(delivery)
    db.session.commit()
    return sub, delivery


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float


@dataclass
class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1: `answers` is the status codes to give, in turn (then 200);
    `check(headers, body)` may decide the answer instead (e.g. a verifier written from the docs)."""

    answers: list[int] = field(default_factory=list)
    check: object = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.received.append(Received(dict(self.headers.items()), body, time.time()))
                code = owner.answers.pop(0) if owner.answers else 200
                if owner.check is not None:
                    code = owner.check(self.headers, body)
                reply = b'{"ok": %s}' % (b"true" if code < 300 else b"false")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
