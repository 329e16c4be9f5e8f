"""A8 end to end through real workers and a real SMTP server: an on-open "send for e-signature" action
emails the signer a link; the signing page signs; the simulator's signed callback runs the external-source
action (close "Contract sent", open "Installation"). Plus the signing page's refusals."""

import io
import re

import pytest
from pypdf import PdfReader

from extensions import db
from models import ReportTemplate, SignatureRequest
from services import external_sources
from services.substates import open_substate
from tests.engine_support import add_action, runs, status_of, wait_for
from tests.mail import conftest as mail_fixtures
from tests.mail import support
from tests.mail.conftest import worker_env

# The loopback SMTP fixtures of tests/mail, shared with this top-level test module.
mail_app, smtp_server, tls_files = mail_fixtures.mail_app, mail_fixtures.smtp_server, mail_fixtures.tls_files

LINK = re.compile(r"https?://[^\s\"<>]+/sign/([A-Za-z0-9_-]{32,})")


def signing_world(make, server):
    flow = make.flow((2,))
    contract, installation = flow.substates
    contract.name, installation.name = "Contract sent", "Installation"
    customer = make.customer(name="Mario Rossi", email="mario.rossi@example.it", language="it")
    opp = make.opportunity(flow, name="Impianto Rossi", customer=customer)
    support.credentials(server)
    template = ReportTemplate(label="Contratto", html="<h1>Contratto</h1><p>{{ client.name }}</p>", css="")
    db.session.add(template)
    external_sources.create_source("esign", "E-signature")
    action = external_sources.save_action(None, external_sources.ActionData(
        "Contract signed", "esign", "signed", close_ids=[contract.id], open_ids=[installation.id]))
    db.session.commit()
    add_action(contract, "on_open", "esignature", report_template_id=template.id, recipient="client",
               external_action_id=action.id)
    return {"opp": opp, "contract": contract, "installation": installation}


def test_signature_end_to_end_through_workers_and_smtp(mail_app, make, client, smtp_server, workers):
    server = smtp_server()
    w = signing_world(make, server)
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["contract"].id, None)
    db.session.commit()

    (msg,) = server.wait_for(1)
    assert msg["To"].addresses[0].addr_spec == "mario.rossi@example.it"
    assert msg["Subject"] == "Documento da firmare: Contratto.pdf"  # in the client's language (it)
    text = msg.get_body(("plain",)).get_content()
    token = LINK.search(text).group(1)
    (pdf_part,) = [p for p in msg.iter_attachments()]
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_part.get_content())).pages)
    assert "Mario Rossi" in pdf_text
    run = wait_for(lambda: next((r for r in runs(kind="esignature") if r.is_final), None), timeout=30,
                   message="the e-signature run to end")
    assert run.status == "succeeded", run.error
    assert run.result["reference"] == token and run.result["emails"][0]["status"] == "sent"

    page = client.get(f"/sign/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Contratto.pdf" in body and 'value="signed"' in body and 'value="declined"' in body
    assert client.get(f"/sign/{token}/document").data == pdf_part.get_content()
    assert client.post(f"/sign/{token}", data={"answer": "signed"}, csrf=False).status_code == 400  # CSRF
    response = client.post(f"/sign/{token}", data={"answer": "signed"})
    assert response.status_code == 302

    assert status_of(w["opp"], w["contract"]) == "closed"
    assert status_of(w["opp"], w["installation"]) == "open"
    db.session.expire_all()
    request = db.session.execute(db.select(SignatureRequest)).scalar_one()
    assert request.status == "signed" and request.reference == token
    (external,) = runs(trigger="external")
    assert external.status == "succeeded" and external.result["signature_request_id"] == request.id
    assert 'value="signed"' not in client.get(f"/sign/{token}").get_data(as_text=True)
    assert client.post(f"/sign/{token}", data={"answer": "signed"}).status_code == 409


@pytest.fixture
def sent_request(make):
    opp = make.opportunity(make.flow((1,)))
    external_sources.create_source("esign", "E-signature")
    request = SignatureRequest(opportunity_id=opp.id, source_name="esign", provider="simulator",
                               reference="t" * 43, signer_email="c@example.it", status="sent",
                               document_name="Contract.pdf", document=b"%PDF-1.4", document_sha256="0" * 64)
    db.session.add(request)
    db.session.commit()
    return request


def test_signing_page_unknown_or_short_tokens_are_404(client, sent_request):
    for token in ["1", "t" * 42, "u" * 43, "t" * 200]:
        assert client.get(f"/sign/{token}").status_code == 404
        assert client.post(f"/sign/{token}", data={"answer": "signed"}).status_code == 404
    assert client.get(f"/sign/{'t' * 43}").status_code == 200


def test_signing_page_refuses_an_unknown_answer(client, sent_request):
    response = client.post(f"/sign/{'t' * 43}", data={"answer": "maybe"})
    assert response.status_code == 422 and "Choose Sign or Decline." in response.get_data(as_text=True)


def test_decline_is_delivered_as_a_callback(client, sent_request):
    assert client.post(f"/sign/{'t' * 43}", data={"answer": "declined"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(SignatureRequest, sent_request.id).status == "declined"


def test_signature_fails_with_the_reason_when_the_client_has_no_address(mail_app, make, smtp_server, workers):
    server = smtp_server()
    w = signing_world(make, server)
    w["opp"].customer.email = None
    db.session.commit()
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["contract"].id, None)
    db.session.commit()
    run = wait_for(lambda: next((r for r in runs(kind="esignature") if r.is_final), None), timeout=30,
                   message="the e-signature run to end")
    assert run.status == "failed" and "has no email address" in run.error
    assert db.session.execute(db.select(SignatureRequest)).first() is None
