"""Send email retried after a partial failure, a changed SMTP password, and what one run costs the database
(SPEC A5, E8). A real aiosmtpd server on loopback; the executor runs in this process, as a worker's job does."""

from sqlalchemy import select

from engine import webhook_subscriptions
from engine.executor import execute
from extensions import db
from models import OutgoingEmail
from services.runs import retry_run
from services.smtp_credentials import SmtpData, update_credential
from services.substates import close_substate, open_substate
from tests.engine_support import runs, statements_sent
from tests.mail import support
from tests.mail.conftest import PASSWORD

CLIENT, OWNER = "mario.rossi@example.it", "lucia@oppflow.example"


def _open(w):
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    return run


def _rows(run_id):
    db.session.expire_all()
    return db.session.execute(select(OutgoingEmail).where(OutgoingEmail.run_id == run_id)
                              .order_by(OutgoingEmail.id)).scalars().all()


def _to(server):
    return [m["To"].addresses[0].addr_spec for m in server.messages]


def test_retry_after_a_partial_failure_sends_only_to_who_has_not_received_it(mail_app, make, smtp_server):
    server = smtp_server(refuse={OWNER: "550 5.2.2 Mailbox full"})
    w = support.world(make, support.credentials(server), support.template(), extra_users=[])
    w["action"].config = {**w["action"].config, "extra_user_ids": [w["owner"].id]}
    db.session.commit()
    first = _open(w)
    execute(first.id, "send_email")
    first = runs(id=first.id)[0]
    assert first.status == "failed" and "550 5.2.2 Mailbox full" in first.error
    assert _to(server) == [CLIENT]

    # A person retries; the owner's mailbox now answers "try later": the client is not written to again,
    # and the owner's message waits for the engine's own retry.
    server.sink.refuse[OWNER] = "451 4.3.0 Try again later"
    second = retry_run(first, w["owner"])
    db.session.commit()
    execute(second.id, "send_email")
    second = runs(id=second.id)[0]
    assert second.status == "pending" and "451 4.3.0" in second.error
    assert _to(server) == [CLIENT]
    (waiting,) = _rows(second.id)
    assert (waiting.recipient, waiting.status) == (OWNER, "failed")

    server.sink.refuse.clear()
    second.due_at = second.created_at
    db.session.commit()
    execute(second.id, "send_email")
    second = runs(id=second.id)[0]
    assert second.status == "succeeded" and second.attempts == 2
    server.wait_for(2)
    assert _to(server) == [CLIENT, OWNER]  # each once, across three attempts in two runs
    assert server.messages[1]["Message-ID"] == waiting.message_id  # the id recorded before the first try
    (sent,) = _rows(second.id)
    assert (sent.recipient, sent.status) == (OWNER, "sent")
    emails = {e["to"]: e for e in second.result["emails"]}
    assert emails[CLIENT]["status"] == "sent" and emails[CLIENT]["sent_by_run"] == first.id
    assert emails[OWNER]["status"] == "sent" and emails[OWNER]["message_id"] == waiting.message_id

    # A retry of the retry finds everyone served: it succeeds without sending anything.
    second.status = "failed"
    db.session.commit()
    third = retry_run(second, w["owner"])
    db.session.commit()
    assert execute(third.id, "send_email") == "done"
    third = runs(id=third.id)[0]
    assert third.status == "succeeded" and _rows(third.id) == []
    assert {e["sent_by_run"] for e in third.result["emails"]} == {first.id, second.id}
    assert len(server.messages) == 2


def test_retry_sends_to_a_recipient_whose_message_was_never_confirmed(mail_app, make, smtp_server):
    """A message left "sending" (the worker stopped before the 250) is not counted as received."""
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = _open(w)
    db.session.add(OutgoingEmail(run_id=run.id, opportunity_id=run.opportunity_id, kind="send_email",
                                 recipient=CLIENT, recipient_role="client", message_id="<lost@oppflow.example>",
                                 status="sending"))
    run.status, run.reason = "needs_review", "lost"
    db.session.commit()
    again = retry_run(run, w["owner"])
    db.session.commit()
    execute(again.id, "send_email")
    assert runs(id=again.id)[0].status == "succeeded"
    assert _to(server) == [CLIENT]


def _set_password(cred, password, admin):
    update_credential(cred, SmtpData(name=cred.name, host=cred.host, port=cred.port, security=cred.security,
                                     username=cred.username, password=password, from_address=cred.from_address,
                                     from_name=cred.from_name or ""), admin)
    db.session.commit()


def test_a_changed_password_is_used_at_the_next_run(mail_app, make, smtp_server):
    """The worker keeps decrypted passwords; an edit in Settings must still take effect at once."""
    server = smtp_server("starttls", auth=True)
    cred = support.credentials(server, auth=True)
    w = support.world(make, cred, support.template())
    admin = make.user("admin", name="Ada Admin")
    run = _open(w)
    execute(run.id, "send_email")
    assert runs(id=run.id)[0].status == "succeeded"

    _set_password(cred, "not-the-password", admin)
    closing = support.add_action(w["substate"], "on_close", "send_email", **w["action"].config)
    close_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (second,) = runs(action_id=closing.id)
    execute(second.id, "send_email")
    second = runs(id=second.id)[0]
    assert second.status == "failed" and second.error.startswith("Authentication failed")

    _set_password(cred, PASSWORD, admin)
    third = retry_run(second, w["owner"])
    db.session.commit()
    execute(third.id, "send_email")
    assert runs(id=third.id)[0].status == "succeeded"
    assert len(server.wait_for(2)) == 2


def test_a_send_email_run_costs_a_handful_of_statements(mail_app, make, smtp_server):
    """Claim, load (run, opportunity, client, partners, owner), template with credentials, the message's
    row with 'sending', its 'sent' with the outcome (the webhook subscriptions the run's end is announced to
    come from the process's cache): the per-run cost bench/comms.py measures."""
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    run = _open(w)
    # A worker that has run before knows the webhook subscriptions (engine.webhook_subscriptions caches
    # them per process until one is saved or deleted): warm that cache as a worker's first run does.
    webhook_subscriptions.active()
    db.session.remove()
    with statements_sent(db.engine) as statements:
        assert execute(run.id, "send_email") == "done"
    assert runs(id=run.id)[0].status == "succeeded" and len(server.wait_for(1)) == 1
    # Outbound webhooks' lookup of the active subscriptions when the run ends costs no SELECT: the
    # per-process cache answers (a Redis GET of its version, engine/webhook_subscriptions.py; issue 16).
    assert statements.count("SELECT") <= 2, statements
    assert len(statements) <= 7, statements
    if db.engine.dialect.name == "postgresql":
        # The message's row goes in with the claim and the 'sending' mark, its 'sent' with the outcome
        # (engine.along): read, mark, outcome.
        assert statements == ["SELECT", "WITH", "WITH"], statements
