"""A5 Send email through a real SMTP server (aiosmtpd on loopback), run by the executor in this process."""

import pytest
from sqlalchemy import select

from engine.executor import execute
from extensions import db
from models import OutgoingEmail
from services.substates import open_substate
from tests.engine_support import runs
from tests.mail import support


def open_first(w):
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    return run


def rows(run_id=None):
    db.session.expire_all()
    stmt = select(OutgoingEmail).order_by(OutgoingEmail.id)
    if run_id:
        stmt = stmt.where(OutgoingEmail.run_id == run_id)
    return db.session.execute(stmt).scalars().all()


def test_client_in_italian_and_extra_user_in_spanish(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    w["action"].config = {**w["action"].config, "extra_user_ids": [w["owner"].id]}
    db.session.commit()
    run = open_first(w)
    assert execute(run.id, "send_email") == "done"
    run = runs(kind="send_email")[0]
    assert run.status == "succeeded", run.error
    got = {m["To"].addresses[0].addr_spec: m for m in server.wait_for(2)}
    it, es = got["mario.rossi@example.it"], got["lucia@oppflow.example"]
    assert it["Subject"] == "Documentazione in sospeso: Impianto Rossi"
    assert es["Subject"] == "Documentación pendiente: Impianto Rossi"
    html_it = it.get_body(("html",)).get_content()
    text_it = it.get_body(("plain",)).get_content()
    assert "Gentile Mario Rossi" in html_it and "12.345,50\xa0€" in html_it
    assert "Gentile Mario Rossi," in text_it and "<p>" not in text_it
    assert "Estimado/a Lucía Gómez" in es.get_body(("html",)).get_content()
    assert it["From"].addresses[0].display_name == "Oppflow Vendite"
    assert it["From"].addresses[0].addr_spec == "noreply@oppflow.example"
    sent = {r.recipient: r for r in rows(run.id)}
    assert it["Message-ID"] == sent["mario.rossi@example.it"].message_id
    assert es["Message-ID"] == sent["lucia@oppflow.example"].message_id
    assert {e["message_id"] for e in run.result["emails"]} == {it["Message-ID"], es["Message-ID"]}
    assert run.result["template"] == "Documentation reminder" and run.result["credentials"] == "Company mail"
    assert run.result["sender"] == "noreply@oppflow.example"
    assert {(r.recipient_role, r.language, r.status) for r in sent.values()} == {("client", "it", "sent"),
                                                                                 ("user", "es", "sent")}


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_with_auth(mail_app, make, smtp_server, security):
    server = smtp_server(security, auth=True)
    w = support.world(make, support.credentials(server, auth=True), support.template())
    run = open_first(w)
    assert execute(run.id, "send_email") == "done"
    assert runs(id=run.id)[0].status == "succeeded", runs(id=run.id)[0].error
    (msg,) = server.wait_for(1)
    assert msg["Subject"] == "Documentazione in sospeso: Impianto Rossi"


def test_installer_gets_the_company_language_and_owner_the_user_language(mail_app, make, smtp_server):
    server = smtp_server()
    cred, tmpl = support.credentials(server), support.template()
    w = support.world(make, cred, tmpl, recipient="installer")
    support.add_action(w["substate"], "on_open", "send_email", email_template_id=tmpl.id,
                       smtp_credential_id=cred.id, recipient="owner", extra_user_ids=[])
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    for run in runs(kind="send_email"):
        assert execute(run.id, "send_email") == "done"
    got = {m["To"].addresses[0].addr_spec: m["Subject"] for m in server.wait_for(2)}
    assert got == {"info@solarenord.example": "Documents pending: Impianto Rossi",
                   "lucia@oppflow.example": "Documentación pendiente: Impianto Rossi"}


def test_language_without_text_falls_back(mail_app, make, smtp_server):
    server = smtp_server()
    tmpl = support.template(subjects={"en": support.SUBJECTS["en"]}, bodies={"en": support.BODIES["en"]})
    w = support.world(make, support.credentials(server), tmpl)
    assert execute(open_first(w).id, "send_email") == "done"
    (msg,) = server.wait_for(1)
    assert msg["Subject"] == "Documents pending: Impianto Rossi" and msg["Content-Language"] == "en"
    assert "12,345.50" in msg.get_body(("html",)).get_content()  # formatted in the text's language


def test_missing_address_fails_with_the_reason_and_sends_nothing(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    w["customer"].email = None
    db.session.commit()
    run = open_first(w)
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "failed" and run.attempts == 1
    assert run.error == "The client Mario Rossi has no email address."
    (row,) = rows(run.id)
    assert (row.status, row.recipient_role, row.error, row.message_id) == ("failed", "client", run.error, None)
    assert row.template_name == "Documentation reminder" and row.credentials_name == "Company mail"
    assert server.messages == []


def test_no_installer_assigned_fails_with_the_reason(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template(), recipient="installer", installer=None)
    run = open_first(w)
    execute(run.id, "send_email")
    assert runs(id=run.id)[0].error == "The opportunity has no installer assigned."


def test_wrong_password_fails_at_once_as_authentication_failed(mail_app, make, smtp_server):
    server = smtp_server("starttls", auth=True)
    w = support.world(make, support.credentials(server, auth=True, password="not-the-password"), support.template())
    run = open_first(w)
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "failed" and run.attempts == 1
    assert run.error.startswith("Authentication failed: the server answered 535")
    assert "not-the-password" not in run.error
    (row,) = rows(run.id)
    assert row.status == "failed" and row.error == run.error and server.messages == []


def test_oversize_message_is_refused_with_a_clear_error(mail_app, make, smtp_server):
    server = smtp_server()
    mail_app.config["MAIL_MAX_BYTES"] = 2000
    big = {lang: body + "<p>" + "x" * 3000 + "</p>" for lang, body in support.BODIES.items()}
    w = support.world(make, support.credentials(server), support.template(bodies=big))
    run = open_first(w)
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "failed" and run.attempts == 1
    assert "over the limit of 0.0 MB (MAIL_MAX_BYTES): it was not sent" in run.error
    assert "The email to mario.rossi@example.it is 0.0 MB" in run.error
    assert server.messages == []


def test_recipient_refused_5xx_fails_and_4xx_retries_sending_only_what_was_not_accepted(mail_app, make, smtp_server):
    server = smtp_server(refuse={"lucia@oppflow.example": "450 4.2.1 Mailbox busy, try later"})
    w = support.world(make, support.credentials(server), support.template())
    w["action"].config = {**w["action"].config, "extra_user_ids": [w["owner"].id]}
    db.session.commit()
    run = open_first(w)
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "pending" and "450 4.2.1 Mailbox busy" in run.error  # back off, then again
    first = {r.recipient: (r.status, r.message_id) for r in rows(run.id)}
    assert first["mario.rossi@example.it"][0] == "sent" and first["lucia@oppflow.example"][0] == "failed"
    assert len(server.wait_for(1)) == 1

    server.sink.refuse.clear()
    run.due_at = run.created_at
    db.session.commit()
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "succeeded" and run.attempts == 2
    msgs = server.wait_for(2)
    assert [m["To"].addresses[0].addr_spec for m in msgs] == ["mario.rossi@example.it", "lucia@oppflow.example"]
    assert msgs[1]["Message-ID"] == first["lucia@oppflow.example"][1]  # the id recorded before the first try

    server.sink.refuse["mario.rossi@example.it"] = "550 5.1.1 No such user"
    run2 = support.add_action(w["substate"], "on_close", "send_email", **{**w["action"].config, "extra_user_ids": []})
    from services.substates import close_substate
    close_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (refused,) = runs(action_id=run2.id)
    execute(refused.id, "send_email")
    refused = runs(id=refused.id)[0]
    assert refused.status == "failed" and refused.attempts == 1
    assert "refused the recipient mario.rossi@example.it: 550 5.1.1 No such user" in refused.error


def test_a_second_delivery_sends_nothing(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = open_first(w)
    assert execute(run.id, "send_email") == "done"
    assert execute(run.id, "send_email") == "not claimed"
    assert len(server.wait_for(1)) == 1 and len(rows(run.id)) == 1


def test_a_run_another_worker_takes_while_it_renders_sends_nothing(mail_app, make, smtp_server, monkeypatch):
    """A send-email run's claim is written with its `sending` mark: when another worker took the run after this
    one read it, the mark matches no row, nothing is sent or kept, and the other worker's claim stands."""
    from datetime import timedelta

    from engine import outbox
    from models.base import utcnow
    from models.runs import ActionRun

    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = open_first(w)
    real_send = outbox.send

    def taken_meanwhile(*args, **kwargs):
        with db.engine.begin() as other:  # another worker's claim, committed on its own connection
            other.execute(ActionRun.__table__.update().where(ActionRun.id == run.id).values(
                status="running", claimed_by="other-worker", lease_until=utcnow() + timedelta(minutes=5),
                attempts=1))
        return real_send(*args, **kwargs)

    monkeypatch.setattr(outbox, "send", taken_meanwhile)
    db.session.remove()  # a fresh session, as a job's: its first write may go alone (engine.alone)
    assert execute(run.id, "send_email") == "lost lease"
    run = runs(id=run.id)[0]
    assert (run.status, run.claimed_by, run.attempts) == ("running", "other-worker", 1)
    assert rows(run.id) == [] and server.messages == []


def test_a_run_taken_after_its_last_message_went_keeps_it_sending_for_review(mail_app, make, smtp_server,
                                                                             monkeypatch):
    """The last message's `sent` is written with the run's outcome (in its statement on PostgreSQL): when the
    run is no longer this worker's by then (the sweeper took it), neither is written — the message stays
    `sending`, which the sweeper turns into a review, never `sent` under a run that did not succeed."""
    from datetime import timedelta

    from engine import outbox
    from models.base import utcnow
    from models.runs import ActionRun

    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = open_first(w)
    real_send = outbox.send

    def taken_after_sending(*args, **kwargs):
        result = real_send(*args, **kwargs)
        with db.engine.begin() as other:
            other.execute(ActionRun.__table__.update().where(ActionRun.id == run.id).values(
                claimed_by="sweeper", lease_until=utcnow() + timedelta(minutes=5)))
        return result

    monkeypatch.setattr(outbox, "send", taken_after_sending)
    db.session.remove()  # a fresh session, as a job's: its outcome may go alone (engine.alone)
    assert execute(run.id, "send_email") == "lost lease"
    assert len(server.wait_for(1)) == 1
    (row,) = rows(run.id)
    assert row.status == "sending" and row.sent_at is None
    assert runs(id=run.id)[0].status == "sending"


def test_the_message_goes_only_after_its_sending_mark_is_committed(mail_app, make, smtp_server):
    """The connection's handshake starts while the run's `sending` mark is being committed (engine.mail
    open_soon): the message itself is sent only once the mark — with its row and Message-ID — is in the
    database for everyone, so a worker dying meanwhile leaves a run for review, never an unrecorded email."""
    from models.runs import ActionRun

    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = open_first(w)
    engine, seen = db.engine, []
    real_data = server.sink.handle_DATA

    async def data_after_the_mark(srv, session, envelope):
        with engine.connect() as other:  # what any other process sees when the message arrives
            seen.append((other.execute(select(ActionRun.status).where(ActionRun.id == run.id)).scalar_one(),
                         other.execute(select(OutgoingEmail.status, OutgoingEmail.message_id)
                                       .where(OutgoingEmail.run_id == run.id)).all()))
        return await real_data(srv, session, envelope)

    server.sink.handle_DATA = data_after_the_mark
    assert execute(run.id, "send_email") == "done"
    (message,) = server.wait_for(1)
    ((status, messages),) = seen
    assert status == "sending" and messages == [("sending", message["Message-ID"])]
    assert runs(id=run.id)[0].status == "succeeded" and rows(run.id)[0].status == "sent"
