"""POST /hooks/<source> (SPEC P4, A8): good signature runs the actions; bad signature, stale timestamp,
replay and unknown source are refused with a JSON answer, and nothing changes."""

import json
import time
import uuid

import pytest

from extensions import db
from models import ActionRun, SignatureRequest
from services import external_sources, webhooks
from services.substates import open_substate
from tests.engine_support import status_of


@pytest.fixture
def hook_world(make):
    """A source, an action closing the first substate and opening the second, and a sent request."""
    flow = make.flow((2,))
    first, second = flow.substates
    opp = make.opportunity(flow, name="Impianto Verdi")
    open_substate(opp, first.id, None)
    source, secret = external_sources.create_source("esign", "E-signature")
    action = external_sources.save_action(None, external_sources.ActionData(
        "Contract signed", "esign", "signed", close_ids=[first.id], open_ids=[second.id]))
    request = SignatureRequest(opportunity_id=opp.id, external_action_id=action.id, source_name="esign",
                               provider="simulator", reference=uuid.uuid4().hex, signer_email="c@example.it",
                               status="sent", document_name="Contract.pdf", document=b"%PDF", document_sha256="0")
    db.session.add(request)
    db.session.commit()
    return {"opp": opp, "first": first, "second": second, "secret": secret, "request": request}


def event(w, kind="signature.signed", event_id=None) -> bytes:
    return json.dumps({"id": event_id or uuid.uuid4().hex, "type": kind,
                       "reference": w["request"].reference}).encode()


def post(client, body: bytes, secret: str, source="esign", at=None, headers=None):
    sent = webhooks.sign_headers(secret, body, int(at if at is not None else time.time()))
    sent.update(headers or {})
    return client.post(f"/hooks/{source}", data=body, headers=sent, csrf=False)


def test_good_signature_runs_the_action_and_marks_the_request_signed(client, hook_world):
    w = hook_world
    response = post(client, event(w), w["secret"])
    assert response.status_code == 200, response.json
    assert response.json["ok"] is True and response.json["status"] == "signed"
    assert status_of(w["opp"], w["first"]) == "closed" and status_of(w["opp"], w["second"]) == "open"
    db.session.expire_all()
    assert db.session.get(SignatureRequest, w["request"].id).status == "signed"
    run = db.session.get(ActionRun, response.json["run_id"])
    assert run.trigger == "external" and run.status == "succeeded"
    assert [s["status"] for s in run.result["steps"]] == ["done", "done"]


def test_bad_signature_is_refused_and_changes_nothing(client, hook_world):
    w = hook_world
    response = post(client, event(w), "whsec_wrong")
    assert response.status_code == 401 and response.json == {"ok": False, "error": "Invalid signature."}
    body = event(w)
    tampered = webhooks.sign_headers(w["secret"], body, int(time.time()))
    response = client.post("/hooks/esign", data=body.replace(b"signed", b"declined"), headers=tampered, csrf=False)
    assert response.status_code == 401
    assert client.post("/hooks/esign", data=body, csrf=False).status_code == 401  # no headers at all
    assert status_of(w["opp"], w["first"]) == "open" and status_of(w["opp"], w["second"]) is None


def test_replay_is_refused(client, hook_world):
    w = hook_world
    body = event(w)
    headers = webhooks.sign_headers(w["secret"], body, int(time.time()))
    assert client.post("/hooks/esign", data=body, headers=headers, csrf=False).status_code == 200
    again = client.post("/hooks/esign", data=body, headers=headers, csrf=False)
    assert again.status_code == 409 and again.json["ok"] is False
    # The same event re-signed later is the same event; a new event for a completed request is refused too.
    assert post(client, body, w["secret"]).status_code == 409
    assert post(client, event(w), w["secret"]).status_code == 409
    assert len([r for r in db.session.execute(db.select(ActionRun)).scalars() if r.trigger == "external"]) == 1


def test_unknown_source_is_404_without_detail(client, hook_world):
    response = post(client, event(hook_world), hook_world["secret"], source="nosuch")
    assert response.status_code == 404 and response.json == {"ok": False, "error": "Unknown source."}
    assert client.post("/hooks/" + "x" * 300, data=b"{}", csrf=False).status_code == 404


def test_stale_or_future_timestamp_is_refused(client, hook_world):
    w = hook_world
    assert post(client, event(w), w["secret"], at=time.time() - 301).status_code == 401
    assert post(client, event(w), w["secret"], at=time.time() + 301).status_code == 401
    assert post(client, event(w), w["secret"], headers={"X-Oppflow-Timestamp": "soon"}).status_code == 401
    assert status_of(w["opp"], w["second"]) is None


def test_unreadable_body_and_unknown_events_answer_4xx_never_500(client, hook_world):
    w = hook_world
    assert post(client, b"not json", w["secret"]).status_code == 400
    assert post(client, b"[1, 2]", w["secret"]).status_code == 400
    assert post(client, event(w, kind="order.paid"), w["secret"]).status_code == 422
    other = json.dumps({"id": uuid.uuid4().hex, "type": "signature.signed", "reference": "unknown"}).encode()
    assert post(client, other, w["secret"]).status_code == 422
    assert post(client, other, w["secret"]).status_code == 422  # a refused event is not remembered as seen


def test_declined_marks_the_request_and_runs_no_signed_action(client, hook_world):
    w = hook_world
    response = post(client, event(w, kind="signature.declined"), w["secret"])
    assert response.status_code == 200 and response.json["run_id"] is None
    db.session.expire_all()
    assert db.session.get(SignatureRequest, w["request"].id).status == "declined"
    assert status_of(w["opp"], w["first"]) == "open"


def test_regenerated_secret_replaces_the_old_one(client, hook_world):
    w = hook_world
    source = db.session.execute(db.select(webhooks.ExternalSource)).scalar_one()
    new = external_sources.regenerate_secret(source)
    db.session.commit()
    assert post(client, event(w), w["secret"]).status_code == 401
    assert post(client, event(w), new).status_code == 200
