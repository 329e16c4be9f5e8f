"""A failed run is retried once (SPEC E7): two people pressing Retry at the same moment, through real
workers and a real SMTP server, write to the client once; the row then links to its retry."""

import secrets
import threading

from flask import g

from engine.executor import execute
from extensions import db
from services.substates import open_substate
from tests.engine_support import runs, wait_for
from tests.mail import support
from tests.mail.conftest import worker_env

CLIENT = "mario.rossi@example.it"


def _failed_run(mail_app, make, server):
    server.sink.refuse[CLIENT] = "550 5.1.1 Mailbox unavailable"
    w = support.world(make, support.credentials(server), support.template())
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    execute(run.id, "send_email")
    (run,) = runs(id=run.id)
    assert run.status == "failed" and server.messages == []
    server.sink.refuse.clear()  # the mailbox works again: now a retry may deliver
    return w, run


def _client(app, user):
    g.pop("_login_user", None)  # the test's app context serves its requests too: forget the last login
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*secrets.token_bytes(3))
    c.login(user)
    return c


def test_two_concurrent_retries_send_the_email_once(mail_app, make, smtp_server, workers):
    server = smtp_server()
    w, failed = _failed_run(mail_app, make, server)
    clients = [_client(mail_app, w["owner"]) for _ in range(2)]
    workers.start(1, **worker_env(mail_app))
    barrier, statuses, url = threading.Barrier(2), [], f"/account/history/runs/{failed.id}/retry"

    def press(c):
        with mail_app.app_context():  # a thread of its own: its own app context and database session
            barrier.wait()
            statuses.append(c.post(url).status_code)

    threads = [threading.Thread(target=press, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [302, 409]
    server.wait_for(1)
    retry = wait_for(lambda: next((r for r in runs(kind="send_email", trigger="retry") if r.is_final), None),
                     message="the retry to end")
    assert retry.status == "succeeded" and retry.parent_run_id == failed.id
    assert len(runs(kind="send_email")) == 2  # the failed run and one retry: the loser created nothing
    assert runs(id=failed.id)[0].retried_by_id == retry.id

    # Pressing Retry again on the original row, after the retry went out: refused, nothing sent.
    again = clients[0].post(f"/account/history/runs/{failed.id}/retry")
    assert again.status_code == 409 and "already retried" in again.get_data(as_text=True)
    assert len(runs(kind="send_email")) == 2
    assert [m["To"].addresses[0].addr_spec for m in server.messages] == [CLIENT]

    # The row says where the retry is and offers no Retry button.
    page = clients[0].get("/account/history/email").get_data(as_text=True)
    assert f"Retried → #{retry.id}" in page and f"#timeline-run-{retry.id}" in page
    assert f"/account/history/runs/{failed.id}/retry" not in page
