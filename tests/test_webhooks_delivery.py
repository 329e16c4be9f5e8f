"""Outbound webhooks end to end: domain events -> deliveries -> a real RQ worker -> a real HTTP receiver on a
loopback port; signatures, retries with backoff, final failure, redelivery with the same idempotency key."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from extensions import db
from models import Assignment, WebhookDelivery, WebhookSubscription
from models.webhooks import WEBHOOK_EVENTS
from services import assignment as assignment_svc
from services import outbound_webhooks as svc
from services import tasks as task_svc
from services.substates import close_substate, open_substate
from services.webhooks import signature
from tests.engine_support import wait_for
from tests.webhook_support import Receiver

FAST = {"WEBHOOK_BACKOFF": "0.3,0.3"}  # three attempts in all, a fraction of a second apart


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def subscribe(receiver: Receiver, events=tuple(WEBHOOK_EVENTS), host: str = "127.0.0.1") -> tuple[WebhookSubscription, str]:
    svc.save_allowed_hosts(host)
    sub, secret = svc.create(svc.SubscriptionData("Receiver", receiver.url(host), list(events), True))
    db.session.commit()
    return sub, secret


def deliveries(**where) -> list[WebhookDelivery]:
    db.session.expire_all()
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(WebhookDelivery, key) == value)
    return list(db.session.execute(stmt).scalars())


def assert_signed(received, secret: str) -> dict:
    headers = received.headers
    assert headers["Content-Type"] == "application/json"
    stamp = headers["X-Oppflow-Timestamp"]
    assert abs(time.time() - int(stamp)) < 60
    assert headers["X-Oppflow-Signature"] == signature(secret, stamp, received.body)
    payload = json.loads(received.body)
    assert payload["type"] == headers["X-Oppflow-Event"]
    assert set(payload) == {"id", "type", "created_at", "data"}
    return payload


def test_each_event_type_is_delivered_once_signed(workers, make, receiver):
    sub, secret = subscribe(receiver)
    flow = make.flow((2, 2))
    s0, s1, s2, s3 = flow.substates
    make.action(s0, "open_substate", config={"substate_id": s1.id}, enabled=True)  # a run that succeeds
    make.action(s2, "flaky_open", config={"substate_id": s3.id, "succeed_at": 0}, enabled=True)  # one that fails
    user, company = make.user("manager"), make.company("installer")
    partner = make.user("partner", company=company)
    opp = make.opportunity(flow, installer=company)
    workers.start(1, **FAST)

    open_substate(opp, s0.id, user)
    db.session.commit()
    close_substate(opp, s0.id, user)
    db.session.commit()
    open_substate(opp, s2.id, user)
    db.session.commit()
    task = task_svc.create_task(opp, "Call back", responsible_id=user.id, user=user)
    db.session.commit()
    task_svc.change_status(task, "in_progress", user)
    db.session.commit()
    accepted, rejected = (Assignment(opportunity_id=opp.id, company_id=company.id, partner_kind="installer",
                                     status="pending") for _ in range(2))
    db.session.add_all([accepted, rejected])
    db.session.commit()
    assignment_svc.accept(opp, accepted.id, partner)
    assignment_svc.reject(opp, rejected.id, partner, "Too far away")
    db.session.commit()

    expected = {"substate.opened": 3, "substate.closed": 1, "run.succeeded": 1, "run.failed": 1,
                "task.status_changed": 1, "assignment.accepted": 1, "assignment.rejected": 1}

    def counts():
        seen = {}
        for item in receiver.received:
            seen[item.headers["X-Oppflow-Event"]] = seen.get(item.headers["X-Oppflow-Event"], 0) + 1
        return seen

    wait_for(lambda: counts() == expected, timeout=30, message=f"every event delivered (got {counts()})")
    time.sleep(1.0)  # nothing more comes: each event once
    assert counts() == expected
    keys = [item.headers["X-Oppflow-Delivery"] for item in receiver.received]
    assert len(set(keys)) == len(keys)
    payloads = {}
    for item in receiver.received:
        payload = assert_signed(item, secret)
        payloads.setdefault(payload["type"], []).append(payload["data"])
    assert {d["substate"]["id"] for d in payloads["substate.opened"]} == {s0.id, s1.id, s2.id}
    assert payloads["substate.closed"][0]["substate"]["name"] == s0.name
    assert payloads["substate.closed"][0]["opportunity"] == {"id": opp.id, "name": opp.name}
    assert payloads["run.succeeded"][0]["run"]["kind"] == "open_substate"
    assert payloads["run.failed"][0]["run"]["kind"] == "flaky_open"
    assert "not reachable" in payloads["run.failed"][0]["run"]["error"]
    assert payloads["task.status_changed"][0]["new_status"] == "in_progress"
    assert payloads["task.status_changed"][0]["old_status"] == "todo"
    assert payloads["assignment.accepted"][0]["assignment"]["id"] == accepted.id
    assert payloads["assignment.rejected"][0]["assignment"]["reason"] == "Too far away"
    assert payloads["assignment.rejected"][0]["company"]["name"] == company.name
    rows = deliveries()
    assert {r.status for r in rows} == {"delivered"}
    assert all(r.status_code == 200 and r.attempts == 1 and r.duration_ms is not None for r in rows)


def test_only_chosen_events_and_active_subscriptions_get_deliveries(workers, make, receiver):
    subscribe(receiver, events=["substate.closed"])
    sub2, _ = svc.create(svc.SubscriptionData("Off", receiver.url(), ["substate.opened"], False))
    db.session.commit()
    flow = make.flow((1, 1))
    opp = make.opportunity(flow)
    open_substate(opp, flow.substates[0].id, None)
    db.session.commit()
    assert deliveries() == []  # opened: the only subscriber is switched off
    close_substate(opp, flow.substates[0].id, None)
    db.session.commit()
    assert [d.event_type for d in deliveries()] == ["substate.closed"]
    workers.start(1, **FAST)
    wait_for(lambda: len(receiver.received) == 1, message="the closing delivered")


def test_a_rolled_back_event_sends_nothing(make, receiver):
    subscribe(receiver)
    flow = make.flow((1, 1))
    opp = make.opportunity(flow)
    open_substate(opp, flow.substates[0].id, None)
    db.session.rollback()
    assert deliveries() == []


def test_a_run_another_worker_took_announces_no_success(engine_app, make, receiver, monkeypatch):
    """run.succeeded's delivery is written in the outcome's transaction (its receiver runs before the outcome's
    UPDATE): a run that became another worker's while its kind ran records no outcome and announces nothing;
    the same run left alone announces its success once."""
    from engine.executor import execute
    from models import ActionRun
    from tests.engine_support import runs, taken_while_the_kind_runs

    subscribe(receiver, events=("run.succeeded",))
    flow = make.flow((2,))
    s1, s2 = flow.substates
    make.action(s1, "open_substate", config={"substate_id": s2.id}, enabled=True)
    opp = make.opportunity(flow)
    open_substate(opp, s1.id, None)
    db.session.commit()
    (first,) = runs(kind="open_substate")
    first_id = first.id
    taken_while_the_kind_runs(monkeypatch, "open_substate", first_id)
    db.session.remove()
    assert execute(first_id, "open_substate") == "lost lease"
    assert deliveries(event_type="run.succeeded") == []
    # The other worker's run, released: it succeeds and is announced, once.
    with db.engine.begin() as other:
        other.execute(ActionRun.__table__.update().where(ActionRun.id == first_id).values(
            status="pending", claimed_by=None, lease_until=None))
    db.session.remove()
    assert execute(first_id, "open_substate") == "done"
    (announced,) = deliveries(event_type="run.succeeded")
    assert announced.payload["data"]["run"]["id"] == first_id


def test_retried_after_a_500_then_delivered(workers, make, receiver):
    receiver.answers = [500]
    sub, secret = subscribe(receiver)
    workers.start(1, **FAST)
    svc.send_test(sub)
    db.session.commit()
    wait_for(lambda: len(receiver.received) == 2, message="a second attempt")
    first, second = receiver.received
    assert first.headers["X-Oppflow-Delivery"] == second.headers["X-Oppflow-Delivery"]
    assert first.body == second.body
    assert second.at - first.at >= 0.25  # the backoff waited
    assert_signed(second, secret)
    row = wait_for(lambda: next((d for d in deliveries() if d.status == "delivered"), None), message="delivered")
    assert (row.attempts, row.status_code, row.error) == (2, 200, None)
    assert '"ok": true' in row.response_excerpt


def test_failed_after_the_last_attempt(workers, make, receiver):
    receiver.answers = [503, 503, 503, 503]
    sub, _ = subscribe(receiver)
    workers.start(1, **FAST)
    svc.send_test(sub)
    db.session.commit()
    row = wait_for(lambda: next((d for d in deliveries() if d.status == "failed"), None), message="failed")
    assert (row.attempts, row.status_code) == (3, 503)
    assert "503" in row.error
    time.sleep(0.8)
    assert len(receiver.received) == 3  # no fourth attempt


def test_unreachable_receiver_fails_with_the_reason(workers, make, receiver):
    sub, _ = subscribe(receiver)
    receiver.close()  # nothing listens on the port any more
    workers.start(1, **FAST)
    svc.send_test(sub)
    db.session.commit()
    row = wait_for(lambda: next((d for d in deliveries() if d.status == "failed"), None), message="failed")
    assert row.attempts == 3 and row.status_code is None
    assert "Connection" in row.error or "refused" in row.error.lower()
    receiver.server = type("Closed", (), {"shutdown": lambda s: None, "server_close": lambda s: None})()


def test_redeliver_keeps_the_idempotency_key(workers, make, receiver, client):
    sub, secret = subscribe(receiver)
    workers.start(1, **FAST)
    first = svc.send_test(sub)
    db.session.commit()
    wait_for(lambda: len(receiver.received) == 1, message="first delivery")
    client.login(make.user("admin"))
    response = client.post(f"/settings/webhooks/deliveries/{first.id}/redeliver")
    assert response.status_code == 302
    wait_for(lambda: len(receiver.received) == 2, message="the redelivery")
    one, two = receiver.received
    assert one.headers["X-Oppflow-Delivery"] == two.headers["X-Oppflow-Delivery"] == first.key
    assert json.loads(one.body)["id"] == json.loads(two.body)["id"]
    assert_signed(two, secret)
    rows = deliveries()
    assert len(rows) == 2 and rows[1].redelivery_of_id == first.id and rows[1].key == first.key


def test_ssrf_guard_also_applies_at_delivery(workers, make, receiver):
    sub, _ = subscribe(receiver)
    svc.save_allowed_hosts("")  # the admin withdraws the permission after the webhook was saved
    db.session.commit()
    workers.start(1, **FAST)
    svc.send_test(sub)
    db.session.commit()
    row = wait_for(lambda: next((d for d in deliveries() if d.status == "failed"), None), message="refused")
    assert row.attempts == 1 and "internal address" in row.error
    assert receiver.received == []


def test_delivery_lost_by_redis_is_sent_by_the_sweeper(workers, make, receiver):
    sub, _ = subscribe(receiver)
    svc.send_test(sub)
    db.session.commit()
    workers.queue.empty()  # Redis lost the job
    workers.start(1, **FAST)
    wait_for(lambda: len(receiver.received) == 1, timeout=20, message="the sweeper to send it")


def test_redirects_are_not_followed(workers, make, receiver):
    receiver.answers = [302, 302, 302]
    sub, _ = subscribe(receiver)
    workers.start(1, **FAST)
    svc.send_test(sub)
    db.session.commit()
    row = wait_for(lambda: next((d for d in deliveries() if d.status == "failed"), None), message="failed")
    assert row.status_code == 302 and len(receiver.received) == 3
