"""T1 "An external event arrives" (P4): a signed POST /hooks/<source> naming an opportunity opens the
trigger's substate when its type and every condition on its body match — its on-open actions then run in a
real worker; anything else opens nothing, odd bodies are refused with a 4xx, replays with 409, and the run
shows in the history's Triggers tab to admins and to that opportunity's partner only."""

import json
import time
import uuid

import pytest

from extensions import db
from models import Trigger
from services import external_sources, webhooks
from services.substates import open_substate
from tests.engine_support import add_action, runs, status_of, wait_for

KIND = "trigger_external_event"


def trigger(sub, source="crm", event_type="payment.received", conditions=(), **kw) -> Trigger:
    """An external-event trigger saved as is (the designer tests go through the form)."""
    row = Trigger(substate_id=sub.id, kind="external_event", name=kw.pop("name", f"{event_type} → {sub.name}"),
                  config={"source": source, "event_type": event_type, "conditions": list(conditions)},
                  allow_back=kw.pop("allow_back", False), enabled=kw.pop("enabled", True), **kw)
    db.session.add(row)
    db.session.commit()
    return row


def body(opp, event_type="payment.received", data=None, event_id=None, **extra) -> bytes:
    return json.dumps({"id": event_id or uuid.uuid4().hex, "type": event_type,
                       "opportunity_id": opp.id if opp is not None else None, "data": data or {}, **extra}).encode()


def post(client, raw: bytes, secret: str, source="crm", at=None):
    headers = webhooks.sign_headers(secret, raw, int(at if at is not None else time.time()))
    return client.post(f"/hooks/{source}", data=raw, headers=headers, csrf=False)


@pytest.fixture
def world(make):
    """State 1: 1.1, 1.2; state 2: 2.1 — the opportunity stands in 1.1; source "crm" with its secret."""
    flow = make.flow((2, 1))
    opp = make.opportunity(flow, name="Impianto Rossi")
    open_substate(opp, flow.substates[0].id, None)
    _source, secret = external_sources.create_source("crm", "CRM")
    db.session.commit()
    return {"flow": flow, "opp": opp, "subs": flow.substates, "secret": secret}


def test_a_matching_event_opens_the_substate_and_its_on_open_actions_run(client, make, workers, world):
    opp, (_s11, s12, s21) = world["opp"], world["subs"]
    add_action(s21, "on_open", "open_substate", substate_id=s12.id)
    fired_by = trigger(s21, conditions=[{"path": "data.amount", "op": "gt", "value": "1000"}])
    workers.start(1)
    event_id = f"evt-{uuid.uuid4().hex}"  # unique: Redis remembers event ids across tests and backends
    response = post(client, body(opp, data={"amount": 1500.5}, event_id=event_id), world["secret"])
    assert response.status_code == 200, response.json
    assert response.json["ok"] is True and response.json["opportunity_id"] == opp.id
    (fired,) = runs(kind=KIND)
    assert response.json["runs"] == [{"id": fired.id, "status": "succeeded"}]
    assert (fired.trigger_id, fired.substate_id, fired.user_id, fired.chain_depth) == (fired_by.id, s21.id, None, 0)
    assert fired.result == {"source": "crm", "event_type": "payment.received", "event_id": event_id,
                            "substate_id": s21.id}
    assert status_of(opp, s21) == "open"  # in the webhook's own transaction
    wait_for(lambda: status_of(opp, s12) == "open", message="the on-open action to open 1.2")
    (on_open,) = runs(trigger="on_open", substate_id=s21.id)
    assert on_open.status == "succeeded" and on_open.parent_run_id == fired.id and on_open.chain_id == fired.chain_id


@pytest.mark.parametrize("change", [
    {"event_type": "payment.refunded"},             # another type
    {"source": "erp"},                              # another source's trigger
    {"data": {"amount": 999}},                      # a condition that does not hold
    {"data": {}},                                   # a missing path does not hold
    {"enabled": False},                             # a disabled trigger
])
def test_a_non_matching_event_opens_nothing(client, world, change):
    opp, s21 = world["opp"], world["subs"][2]
    external_sources.create_source("erp", "ERP")
    trigger(s21, source=change.get("source", "crm"), enabled=change.get("enabled", True),
            conditions=[{"path": "data.amount", "op": "gt", "value": "1000"}])
    raw = body(opp, change.get("event_type", "payment.received"), data=change.get("data", {"amount": 5000}))
    response = post(client, raw, world["secret"])
    assert response.status_code == 200 and response.json["runs"] == []
    assert status_of(opp, s21) is None and runs(kind=KIND) == []


def test_every_condition_must_hold(client, world):
    opp, s21 = world["opp"], world["subs"][2]
    trigger(s21, conditions=[{"path": "data.amount", "op": "gt", "value": "1000"},
                             {"path": "data.status", "op": "eq", "value": "paid"}])
    assert post(client, body(opp, data={"amount": 2000, "status": "Paid"}), world["secret"]).json["runs"] == []
    assert status_of(opp, s21) is None
    assert post(client, body(opp, data={"amount": "2000", "status": "paid"}), world["secret"]).status_code == 200
    assert status_of(opp, s21) == "open"


def test_a_signature_event_is_an_external_event_too(client, world, make):
    """The signature callback keeps its contract (`reference` names the request, hence the opportunity) and
    also reaches external-event triggers listening for its type."""
    from models import SignatureRequest

    opp, s21 = world["opp"], world["subs"][2]
    request = SignatureRequest(opportunity_id=opp.id, source_name="crm", provider="simulator",
                               reference=uuid.uuid4().hex, signer_email="c@example.it", status="sent",
                               document_name="Contract.pdf", document=b"%PDF", document_sha256="0")
    db.session.add(request)
    db.session.commit()
    trigger(s21, event_type="signature.signed")
    raw = json.dumps({"id": uuid.uuid4().hex, "type": "signature.signed", "reference": request.reference}).encode()
    response = post(client, raw, world["secret"])
    assert response.status_code == 200 and response.json["status"] == "signed"
    assert status_of(opp, s21) == "open" and len(runs(kind=KIND)) == 1


def test_replay_is_refused_and_fires_once(client, world):
    opp, s21 = world["opp"], world["subs"][2]
    trigger(s21, allow_back=True)
    raw = body(opp)
    headers = webhooks.sign_headers(world["secret"], raw, int(time.time()))
    assert client.post("/hooks/crm", data=raw, headers=headers, csrf=False).status_code == 200
    again = client.post("/hooks/crm", data=raw, headers=headers, csrf=False)
    assert again.status_code == 409 and again.json["ok"] is False
    assert post(client, raw, world["secret"]).status_code == 409  # the same event id, signed anew
    assert len(runs(kind=KIND)) == 1


@pytest.mark.parametrize("raw, status", [
    (b"not json", 400),
    (b"[1, 2]", 400),
    (b"[" * 100_000 + b"]" * 100_000, 413),             # huge
    (b"[" * 30_000 + b"]" * 30_000, 400),               # nested deeper than the parser goes
    (b'{"type": "payment.received", "opportunity_id": 0, "data": {"x": 1e999}}', 422),
    (b'{"type": "", "opportunity_id": 0}', 422),
    (b'{"type": {"a": 1}, "opportunity_id": 0}', 422),
    (b'{"type": "x", "opportunity_id": true}', 422),
    (b'{"type": "x", "opportunity_id": "99999999999999999999999"}', 422),
    (b'{"type": "x", "opportunity_id": -1}', 422),
    (b'{"type": "x", "opportunity_id": 99999999999999999999999999}', 422),
    (b'{"type": "x", "opportunity_id": "OPP", "data": []}', 422),
])
def test_odd_bodies_answer_4xx_never_500(client, world, raw, status):
    trigger(world["subs"][2], event_type="x")
    response = post(client, raw, world["secret"])
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["ok"] is False and runs(kind=KIND) == []


def test_odd_payloads_for_a_known_opportunity_never_raise(client, world):
    opp, s21 = world["opp"], world["subs"][2]
    trigger(s21, conditions=[{"path": "data.a.b.c", "op": "gt", "value": "1"}])
    for data in ({"a": None}, {"a": [1, 2]}, {"a": {"b": "text"}}, {"a": {"b": {"c": "NaN"}}},
                 {"a": {"b": {"c": [{"d": 1}]}}}, {"a": {"b": {"c": True}}}, {"a": "x" * 50_000}):
        assert post(client, body(opp, data=data), world["secret"]).status_code == 200
    assert status_of(opp, s21) is None
    for raw in (body(opp, data=None, note="ignored"), body(opp, event_type="payment.received", data={"a": 1})):
        assert post(client, raw, world["secret"]).status_code == 200
    bad = json.dumps({"id": "x" * 201, "type": "payment.received", "opportunity_id": opp.id}).encode()
    assert post(client, bad, world["secret"]).status_code == 422
    nan = b'{"type": "payment.received", "opportunity_id": %d, "data": {"a": {"b": {"c": NaN}}}}' % opp.id
    assert post(client, nan, world["secret"]).status_code == 200 and status_of(opp, s21) is None


def test_unknown_opportunity_or_unsigned_event_changes_nothing(client, world):
    opp, s21 = world["opp"], world["subs"][2]
    trigger(s21)
    assert post(client, body(None), world["secret"]).status_code == 422
    response = post(client, body(opp), "whsec_wrong")
    assert response.status_code == 401
    assert post(client, body(opp), world["secret"], at=time.time() - 400).status_code == 401
    assert status_of(opp, s21) is None and runs(kind=KIND) == []
    unknown = json.dumps({"type": "payment.received", "opportunity_id": opp.id + 1000}).encode()
    assert post(client, unknown, world["secret"]).json == {"ok": False, "error": "Unknown opportunity."}


def test_the_run_shows_in_the_triggers_tab_to_admins_and_that_opportunitys_partner_only(app, client, make, world):
    installer, other = make.company("installer", name="Posa Srl"), make.company("installer", name="Altra Srl")
    opp = world["opp"]
    opp.installer_id = installer.id
    db.session.commit()
    trigger(world["subs"][2], name="Payment hook")
    assert post(client, body(opp), world["secret"]).status_code == 200
    for user, sees in ((make.user("admin"), True), (make.user("partner", company=installer), True),
                       (make.user("partner", company=other), False)):
        viewer = app.test_client()  # one client each: a login never inherits the last one's session
        viewer.environ_base["REMOTE_ADDR"] = f"127.0.9.{user.id % 250}"
        viewer.login(user)
        page = viewer.get("/account/history/triggers").get_data(as_text=True)
        assert ("Payment hook" in page and "Impianto Rossi" in page) is sees, user.role
        assert ("Impianto Rossi" in page) is sees
