"""A5 through real worker processes (SPEC E6–E8): end to end from a click, SMTP down, wrong password,
and a worker killed while sending — reviewed, never sent twice."""

import time

from engine import dispatch
from engine.executor import execute
from extensions import db
from models import ActionRun
from models.base import utcnow
from services.runs import retry_run
from services.substates import open_substate
from tests.engine_support import runs, wait_for
from tests.mail import support
from tests.mail.conftest import free_port, worker_env


def final_run(timeout: float = 30.0) -> ActionRun:
    return wait_for(lambda: next((r for r in runs(kind="send_email") if r.is_final), None), timeout=timeout,
                    message="the send-email run to end")


def test_click_opens_substate_and_the_mail_arrives(mail_app, make, client, smtp_server, workers):
    server = smtp_server("starttls", auth=True)
    w = support.world(make, support.credentials(server, auth=True), support.template())
    workers.start(1, **worker_env(mail_app))
    client.login(w["owner"])
    response = client.htmx("POST", f"/opportunities/{w['opp'].id}/substates/{w['substate'].id}/open")
    assert response.status_code == 200
    (msg,) = server.wait_for(1)
    run = final_run()
    assert run.status == "succeeded" and run.attempts == 1
    assert msg["Subject"] == "Documentazione in sospeso: Impianto Rossi"
    assert msg["Message-ID"] == run.result["emails"][0]["message_id"]


def test_smtp_down_retries_with_backoff_then_fails_with_the_error(mail_app, make, smtp_server, workers):
    port = free_port()
    cred = support.credentials(None, security="none", port=port)
    w = support.world(make, cred, support.template())
    workers.start(1, **worker_env(mail_app))
    started = time.monotonic()
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    run = final_run()
    assert run.status == "failed" and run.attempts == mail_app.config["ENGINE_MAX_ATTEMPTS"] == 3
    assert run.error == f"Connection refused by 127.0.0.1:{port}: is the server running and the port right?"
    assert time.monotonic() - started >= 0.3 + 0.6  # two backoffs: 0.3 s then 0.6 s


def test_wrong_password_fails_once_without_a_retry_storm(mail_app, make, smtp_server, workers):
    server = smtp_server("starttls", auth=True)
    w = support.world(make, support.credentials(server, auth=True, password="wrong"), support.template())
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    run = final_run()
    assert run.status == "failed" and run.attempts == 1 and run.error.startswith("Authentication failed")
    time.sleep(1.5)  # longer than a backoff: nothing tries again
    assert runs(id=run.id)[0].attempts == 1 and server.messages == []


def test_worker_killed_while_sending_leaves_the_run_for_review_and_never_resends(mail_app, make, smtp_server,
                                                                                 workers):
    server = smtp_server()
    server.sink.hold.set()
    w = support.world(make, support.credentials(server), support.template())
    (first,) = workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    assert server.sink.in_data.wait(20)
    run = runs(kind="send_email")[0]
    assert run.status == "sending" and run.result["emails"][0]["message_id"]
    workers.kill9(first)
    server.sink.hold.clear()  # the server takes it; the dead worker never heard the 250
    workers.start(1, **worker_env(mail_app))
    run = final_run()
    assert run.status == "needs_review" and run.reason == "lost"
    assert run.reason_text.startswith("The worker stopped while sending")
    time.sleep(2 * mail_app.config["ENGINE_LEASE_SECONDS"])
    assert len(server.messages) == 1 and runs(id=run.id)[0].status == "needs_review"


def test_sweeper_turns_an_expired_sending_run_into_needs_review_and_retry_sends_anew(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    run = runs(kind="send_email")[0]
    run.status, run.claimed_by, run.lease_until, run.attempts = "sending", "dead-worker", utcnow(), 1
    db.session.commit()
    time.sleep(0.01)
    dispatch.sweep()
    run = runs(id=run.id)[0]
    assert (run.status, run.reason, run.lease_until) == ("needs_review", "lost", None)
    assert execute(run.id, "send_email") == "not claimed" and server.messages == []
    again = retry_run(run, w["owner"])
    db.session.commit()
    assert execute(again.id, "send_email") == "done"
    assert runs(id=again.id)[0].status == "succeeded" and len(server.wait_for(1)) == 1
