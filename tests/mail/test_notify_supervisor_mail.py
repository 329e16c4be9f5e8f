"""M1 Notify supervisor by email through real workers and a real SMTP server: each recipient gets the message
in their language, each once, besides the in-app notification; SMTP down never repeats the notifications."""

from decimal import Decimal

from sqlalchemy import select

from extensions import db
from models import Notification, OutgoingEmail
from services.substates import open_substate
from tests.engine_support import add_action, runs, wait_for
from tests.mail import support
from tests.mail.conftest import free_port, worker_env

MESSAGE = "{{ opportunity.name }}: {{ opportunity.amount }} ({{ owner.name }})"


def final_run(timeout: float = 30.0):
    return wait_for(lambda: next((r for r in runs(kind="notify_supervisor") if r.is_final), None), timeout=timeout,
                    message="the notify-supervisor run to end")


def world(make, cred):
    flow = make.flow((2,))
    supervisor = make.user("manager", name="Sergio Supervisore", email="sergio@oppflow.example", language="it")
    english = make.user("manager", name="Emma Stone", email="emma@oppflow.example", language="en")
    owner = make.user("agent", name="Lucía Gómez", email="lucia@oppflow.example", language="es",
                      supervisor_id=supervisor.id)
    opp = make.opportunity(flow, name="Impianto Rossi", amount=Decimal("12345.5"), owner=owner)
    add_action(flow.substates[0], "on_open", "notify_supervisor", message=MESSAGE, include_supervisor=True,
               user_ids=[english.id], by_email=True, smtp_credential_id=cred.id)
    return {"opp": opp, "sub": flow.substates[0], "supervisor": supervisor, "english": english}


def test_each_recipient_gets_the_email_in_their_language_and_the_notification(mail_app, make, smtp_server, workers):
    server = smtp_server("starttls", auth=True)
    w = world(make, support.credentials(server, auth=True))
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["sub"].id, None)
    db.session.commit()
    messages = server.wait_for(2)
    run = final_run()
    assert run.status == "succeeded", run.error
    assert run.result["emailed"] == 2 and set(run.result["recipient_ids"]) == {w["supervisor"].id, w["english"].id}
    by_rcpt = {m.envelope_to[0]: m for m in messages}
    italian, english = by_rcpt["sergio@oppflow.example"], by_rcpt["emma@oppflow.example"]
    assert italian["Content-Language"] == "it" and english["Content-Language"] == "en"
    assert "Impianto Rossi" in italian["Subject"] and "Impianto Rossi" in english["Subject"]
    assert italian.get_body(("plain",)).get_content().strip() == "Impianto Rossi: 12.345,50\xa0€ (Lucía Gómez)"
    assert english.get_body(("plain",)).get_content().strip() == "Impianto Rossi: €12,345.50 (Lucía Gómez)"
    assert "Lucía Gómez" in english.get_body(("html",)).get_content()
    db.session.expire_all()
    rows = db.session.execute(select(OutgoingEmail).where(OutgoingEmail.run_id == run.id)).scalars().all()
    assert sorted((r.recipient, r.status, r.language) for r in rows) == [
        ("emma@oppflow.example", "sent", "en"), ("sergio@oppflow.example", "sent", "it")]
    assert {m["Message-ID"] for m in messages} == {r.message_id for r in rows}
    notes = db.session.execute(select(Notification).where(Notification.run_id == run.id)).scalars().all()
    assert sorted(n.user_id for n in notes) == sorted([w["supervisor"].id, w["english"].id])


def test_smtp_down_retries_the_email_but_notifies_in_app_once(mail_app, make, workers):
    cred = support.credentials(None, security="none", port=free_port())
    w = world(make, cred)
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["sub"].id, None)
    db.session.commit()
    run = final_run()
    assert run.status == "failed" and run.attempts == 3 and "Connection refused" in run.error
    db.session.expire_all()
    notes = db.session.execute(select(Notification.user_id).where(Notification.kind == "supervisor")).scalars().all()
    assert sorted(notes) == sorted([w["supervisor"].id, w["english"].id])  # once each, despite three attempts
