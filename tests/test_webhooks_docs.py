"""A receiver written from docs/webhooks.md alone: its Python block, executed as is, verifies real deliveries
from a real RQ worker on a loopback HTTP server, and deduplicates a redelivery by X-Oppflow-Delivery."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from extensions import db
from services import outbound_webhooks as svc
from services.substates import open_substate
from tests.engine_support import wait_for
from tests.webhook_support import Receiver

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def docs_verifier():
    """The docs' one ```python block, executed in a namespace of its own; its verify function."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_oppflow_signature"]


def test_the_docs_function_refuses_what_it_must():
    verify = docs_verifier()
    body, stamp = b'{"id":"evt_1"}', str(int(time.time()))
    import hashlib
    import hmac

    good = "sha256=" + hmac.new(b"whsec_x", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Oppflow-Timestamp": stamp, "X-Oppflow-Signature": good}
    assert verify("whsec_x", headers, body)
    assert not verify("whsec_y", headers, body)
    assert not verify("whsec_x", headers, body + b" ")
    assert not verify("whsec_x", {**headers, "X-Oppflow-Timestamp": "soon"}, body)
    assert not verify("whsec_x", headers, body, now=time.time() + 301)


@pytest.fixture
def docs_receiver():
    verify = docs_verifier()
    state = {"secret": None, "seen": set(), "processed": [], "refused": 0}

    def check(headers, body):
        if not verify(state["secret"], headers, body):
            state["refused"] += 1
            return 401
        key = headers["X-Oppflow-Delivery"]
        if key not in state["seen"]:  # the docs: dedupe on X-Oppflow-Delivery, answer 200 to a repeat
            state["seen"].add(key)
            state["processed"].append(json.loads(body))
        return 200

    server = Receiver(check=check)
    server.state = state
    yield server
    server.close()


def test_a_receiver_written_from_the_docs_verifies_real_deliveries(workers, make, client, docs_receiver):
    svc.save_allowed_hosts("localhost")
    sub, secret = svc.create(svc.SubscriptionData("Docs receiver", docs_receiver.url("localhost"),
                                                  ["substate.opened"], True))
    db.session.commit()
    docs_receiver.state["secret"] = secret
    workers.start(1)
    flow = make.flow((1, 2))
    opp = make.opportunity(flow)
    for sub_state in flow.substates:
        open_substate(opp, sub_state.id, None)
        db.session.commit()
    n = len(flow.substates)
    wait_for(lambda: len(docs_receiver.state["processed"]) == n, message="a verified delivery per opening")
    assert docs_receiver.state["refused"] == 0
    assert {p["data"]["substate"]["id"] for p in docs_receiver.state["processed"]} == {s.id for s in flow.substates}

    # Redeliver one by hand: it arrives signed afresh, verifies, and the docs' dedupe keeps it from counting twice.
    from models import WebhookDelivery

    first = db.session.execute(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars().first()
    client.login(make.user("admin"))
    assert client.post(f"/settings/webhooks/deliveries/{first.id}/redeliver").status_code == 302
    wait_for(lambda: len(docs_receiver.received) == n + 1, message="the redelivery")
    time.sleep(0.3)
    assert len(docs_receiver.state["processed"]) == n and docs_receiver.state["refused"] == 0

    # A rotated secret: the receiver still holding the old one refuses (the delivery fails and is retried).
    client.post(f"/settings/webhooks/{sub.id}/secret")
    client.post(f"/settings/webhooks/{sub.id}/test")
    wait_for(lambda: docs_receiver.state["refused"] >= 1, message="the old secret to be refused")
