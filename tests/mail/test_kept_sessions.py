"""SMTP sessions a worker keeps between runs (engine.smtp_kept): the next run through the same credentials
sends over the session the last one left open, unless the server closed it, it sat idle too long, carried
its share of messages or saw a failure — and a message is never sent twice for it."""

import time

import pytest

from engine import smtp_kept
from engine.executor import execute
from extensions import db
from services.substates import open_substate
from tests.engine_support import runs
from tests.mail import support


def send_run(w, opp):
    """Open the world's substate on `opp` and execute its send-email run here, as a worker would; the run as
    it ended."""
    open_substate(opp, w["substate"].id, None)
    db.session.commit()
    (run,) = [r for r in runs(kind="send_email") if r.opportunity_id == opp.id]
    assert execute(run.id, "send_email") == "done"
    return runs(id=run.id)[0]


def send_runs(make, w, count: int, pause: float = 0.0) -> list:
    """send_run on `count` opportunities of the world's flow, one after the other (the world's own first)."""
    opps = [w["opp"]] + [make.opportunity(w["flow"], name=f"Impianto {i}", customer=w["customer"])
                         for i in range(1, count)]
    ended = []
    for i, opp in enumerate(opps):
        if i and pause:
            time.sleep(pause)
        ended.append(send_run(w, opp))
    return ended


def wait_for_goodbyes(server, count: int) -> None:
    deadline = time.monotonic() + 10
    while server.sink.goodbyes < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.sink.goodbyes == count


@pytest.mark.parametrize(("security", "auth"), [("none", False), ("tls", True)])
def test_the_next_runs_send_over_the_session_the_first_one_opened(mail_app, make, smtp_server, security, auth):
    server = smtp_server(security, auth=auth)
    w = support.world(make, support.credentials(server, auth=auth), support.template())
    ended = send_runs(make, w, 3)
    assert [r.status for r in ended] == ["succeeded"] * 3
    messages = server.wait_for(3)
    assert sorted(m["Subject"] for m in messages) == sorted(
        f"Documentazione in sospeso: {name}" for name in ("Impianto Rossi", "Impianto 1", "Impianto 2"))
    assert server.sink.greetings == 1  # one session: greeted, secured and logged in once
    assert server.sink.goodbyes == 0  # still open for the next run


def test_other_credentials_get_their_own_session(mail_app, make, smtp_server):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    send_runs(make, w, 1)
    other = support.credentials(server, name="Other mail")
    w["action"].config = {**w["action"].config, "smtp_credential_id": other.id}
    db.session.commit()
    other.from_address = "altro@oppflow.example"  # a different sender: not the same session's to use
    db.session.commit()
    send_run(w, make.opportunity(w["flow"], name="Impianto Altro", customer=w["customer"]))
    assert server.wait_for(2)[1]["From"].addresses[0].addr_spec == "altro@oppflow.example"
    assert server.sink.greetings == 2


def test_a_session_the_server_closed_is_replaced_and_the_message_sent_once(mail_app, make, smtp_server):
    server = smtp_server(idle_timeout=0.3)  # the server ends sessions idle for 0.3 s
    w = support.world(make, support.credentials(server), support.template())
    ended = send_runs(make, w, 2, pause=0.8)
    assert [(r.status, r.attempts) for r in ended] == [("succeeded", 1), ("succeeded", 1)]
    assert len(server.wait_for(2)) == 2
    time.sleep(0.2)
    assert len(server.messages) == 2  # the kept session was checked before anything went: no copy
    assert server.sink.greetings == 2


def test_a_session_idle_longer_than_mail_keep_seconds_is_ended_and_a_new_one_opened(mail_app, make, smtp_server):
    mail_app.config["MAIL_KEEP_SECONDS"] = 0.2
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    assert [r.status for r in send_runs(make, w, 2, pause=0.4)] == ["succeeded"] * 2
    assert server.sink.greetings == 2
    wait_for_goodbyes(server, 1)  # the old one was closed with QUIT, not left open


def test_no_session_is_kept_when_mail_keep_seconds_is_0(mail_app, make, smtp_server):
    mail_app.config["MAIL_KEEP_SECONDS"] = 0
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    assert [r.status for r in send_runs(make, w, 2)] == ["succeeded"] * 2
    assert server.sink.greetings == 2
    wait_for_goodbyes(server, 2)


def test_a_session_that_carried_its_share_of_messages_is_ended(mail_app, make, smtp_server, monkeypatch):
    monkeypatch.setattr(smtp_kept, "KEEP_MESSAGES", 2)
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template())
    assert [r.status for r in send_runs(make, w, 3)] == ["succeeded"] * 3
    assert server.sink.greetings == 2  # messages 1-2 on the first session, 3 on a second
    wait_for_goodbyes(server, 1)


def test_a_session_that_saw_a_refusal_is_not_kept(mail_app, make, smtp_server):
    server = smtp_server(refuse={"mario.rossi@example.it": "550 5.1.1 No such user"})
    w = support.world(make, support.credentials(server), support.template())
    first = send_runs(make, w, 1)[0]
    assert first.status == "failed" and "550" in first.error
    w["customer"].email = "mario@example.it"
    db.session.commit()
    assert send_run(w, make.opportunity(w["flow"], name="Impianto 2", customer=w["customer"])).status == "succeeded"
    assert server.sink.greetings == 2
    wait_for_goodbyes(server, 1)
