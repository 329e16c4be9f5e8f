"""Absences (issue 14 item 9): while a user is away, what automation sends or gives them goes to their
supervisor — emails (real RQ worker and a real SMTP server on loopback), notifications, tasks — up a bounded
chain, recorded on the run; the pages refuse bad input in words and are scoped (own, admins, partners 404)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Absence, Notification, OutgoingEmail, Task
from services import absences as svc
from services.substates import open_substate
from tests.engine_support import add_action, runs, wait_for
from tests.mail import conftest as mail_fixtures
from tests.mail import support
from tests.mail.conftest import worker_env

# The real SMTP server's fixtures (tests/mail/conftest.py), used here too.
mail_app, smtp_server, tls_files = mail_fixtures.mail_app, mail_fixtures.smtp_server, mail_fixtures.tls_files


def _away(user, days_before=1, days_after=3, note="Holiday"):
    """An absence of `user` covering today (in their time zone)."""
    today = svc.local_day(user)
    absence = Absence(user_id=user.id, starts_on=today - timedelta(days=days_before),
                      ends_on=today + timedelta(days=days_after), note=note)
    db.session.add(absence)
    db.session.commit()
    return absence


def _final(kind, timeout=30.0):
    return wait_for(lambda: next((r for r in runs(kind=kind) if r.is_final), None), timeout=timeout,
                    message=f"the {kind} run to end")


# -- who stands in ------------------------------------------------------------------------------------------

def test_the_supervisor_stands_in_and_the_chain_is_walked_up(app, make):
    top = make.user("admin", name="Top")
    boss = make.user("manager", name="Boss", supervisor_id=top.id)
    agent = make.user("agent", name="Agent", supervisor_id=boss.id)
    assert svc.stand_in(agent) is None  # not away: nothing changes
    absence = _away(agent)
    standing = svc.stand_in(agent)
    assert (standing.user.id, standing.found, standing.until) == (boss.id, True, absence.ends_on)
    _away(boss)
    assert svc.stand_in(agent).user.id == top.id  # the supervisor is away too: one step further up
    top.active = False
    db.session.commit()
    standing = svc.stand_in(agent)  # nobody left: the user keeps it, and it says so
    assert (standing.user.id, standing.found) == (agent.id, False)
    assert standing.record()["found"] is False


def test_an_absence_that_ended_or_has_not_started_changes_nothing(app, make):
    boss = make.user("manager")
    agent = make.user("agent", supervisor_id=boss.id)
    _away(agent, days_before=10, days_after=-2)
    _away(agent, days_before=-5, days_after=9)
    assert svc.stand_in(agent) is None


def test_a_cycle_of_supervisors_all_away_ends_with_the_user_kept(app, make):
    a = make.user("agent", name="A")
    b = make.user("agent", name="B", supervisor_id=a.id)
    a.supervisor_id = b.id
    db.session.commit()
    _away(a)
    _away(b)
    standing = svc.stand_in(a)
    assert standing.user.id == a.id and not standing.found
    stand_ins = []
    assert svc.resolve(a, stand_ins).id == a.id and stand_ins[0]["absent_id"] == a.id


# -- automation gives it to the stand-in -------------------------------------------------------------------

def test_an_email_to_an_absent_owner_goes_to_the_supervisor_and_the_run_says_so(client, mail_app, make, smtp_server, workers):
    server = smtp_server()
    cred, template = support.credentials(server), support.template()
    w = support.world(make, cred, template, recipient="owner")
    boss = make.user("manager", name="Sergio Supervisore", email="sergio@oppflow.example", language="it")
    w["owner"].supervisor_id = boss.id
    db.session.commit()
    absence = _away(w["owner"])
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (message,) = server.wait_for(1)
    run = _final("send_email")
    assert run.status == "succeeded", run.error
    assert message.envelope_to == ["sergio@oppflow.example"] and message["Content-Language"] == "it"
    assert run.result["stand_ins"] == [{"user_id": boss.id, "user_name": "Sergio Supervisore",
                                        "absent_id": w["owner"].id, "absent_name": "Lucía Gómez",
                                        "until": absence.ends_on.isoformat(), "found": True}]
    db.session.expire_all()
    assert db.session.execute(select(OutgoingEmail.recipient)).scalars().all() == ["sergio@oppflow.example"]
    admin = make.user("admin", language="en")
    client.login(admin)
    page = client.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)
    assert "Given to Sergio Supervisore standing in for Lucía Gómez, absent until" in page


def test_nobody_to_stand_in_keeps_the_email_for_the_absent_owner_and_says_so(client, mail_app, make, smtp_server, workers):
    server = smtp_server()
    w = support.world(make, support.credentials(server), support.template(), recipient="owner")
    _away(w["owner"])  # no supervisor at all
    workers.start(1, **worker_env(mail_app))
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (message,) = server.wait_for(1)
    run = _final("send_email")
    assert message.envelope_to == ["lucia@oppflow.example"]
    assert run.result["stand_ins"][0]["found"] is False
    client.login(make.user("admin", language="en"))
    page = client.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)
    assert "Lucía Gómez is absent until" in page and "kept for them" in page


def test_a_notification_to_an_absent_supervisor_goes_up_the_chain(mail_app, make, smtp_server, workers):
    server = smtp_server()
    cred = support.credentials(server)
    flow = make.flow((2,))
    director = make.user("admin", name="Dora Director", email="dora@oppflow.example", language="en")
    supervisor = make.user("manager", name="Sergio", email="sergio@oppflow.example", supervisor_id=director.id)
    owner = make.user("agent", name="Owen", email="owen@oppflow.example", supervisor_id=supervisor.id)
    opp = make.opportunity(flow, owner=owner)
    add_action(flow.substates[0], "on_open", "notify_supervisor", message="Still open: {{ opportunity.name }}",
               include_supervisor=True, user_ids=[], by_email=True, smtp_credential_id=cred.id)
    _away(supervisor)
    workers.start(1, **worker_env(mail_app))
    open_substate(opp, flow.substates[0].id, None)
    db.session.commit()
    (message,) = server.wait_for(1)
    run = _final("notify_supervisor")
    assert run.status == "succeeded", run.error
    assert message.envelope_to == ["dora@oppflow.example"]
    db.session.expire_all()
    assert db.session.execute(select(Notification.user_id).where(Notification.run_id == run.id)).scalars().all() == [director.id]
    assert run.result["recipient_ids"] == [director.id] and run.result["stand_ins"][0]["absent_id"] == supervisor.id


def test_a_task_for_an_absent_responsible_goes_to_the_supervisor(make, workers):
    flow = make.flow((2,))
    boss = make.user("manager", name="Boss")
    owner = make.user("agent", name="Owner", supervisor_id=boss.id)
    opp = make.opportunity(flow, owner=owner)
    add_action(flow.substates[0], "on_open", "create_task", title="Call {{ client.name }}", description="",
               responsible="owner", responsible_user_id=None, deadline_amount=2, deadline_unit="days",
               working_hours=False, participant_ids=[], observer_ids=[])
    _away(owner)
    workers.start(1)
    open_substate(opp, flow.substates[0].id, None)
    db.session.commit()
    run = _final("create_task")
    assert run.status == "succeeded", run.error
    task = db.session.execute(select(Task).where(Task.run_id == run.id)).scalar_one()
    assert task.responsible_id == boss.id
    assert run.result["stand_ins"][0]["user_id"] == boss.id


# -- the pages ------------------------------------------------------------------------------------------------

def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Absence))


def test_an_admin_records_and_deletes_a_users_absence_with_italian_dates(client, make):
    admin = make.user("admin", language="it")
    boss = make.user("manager", name="Boss")
    agent = make.user("agent", name="Agente", supervisor_id=boss.id)
    client.login(admin)
    assert "Boss" in client.get(f"/settings/users/{agent.id}/absences").get_data(as_text=True)
    response = client.post(f"/settings/users/{agent.id}/absences",
                           data={"starts_on": "03/08/2026", "ends_on": "21/08/2026", "note": "Ferie"})
    assert response.status_code == 302
    absence = db.session.execute(select(Absence)).scalar_one()
    assert (absence.user_id, absence.starts_on.isoformat(), absence.ends_on.isoformat(), absence.note) == \
        (agent.id, "2026-08-03", "2026-08-21", "Ferie")
    assert client.post(f"/settings/users/{agent.id}/absences/{absence.id}/delete").status_code == 302
    assert _count() == 0


@pytest.mark.parametrize("data,field", [
    ({"starts_on": "21/08/2026", "ends_on": "03/08/2026"}, "ends_on"),     # end before start
    ({"starts_on": "08/21/2026", "ends_on": "08/31/2026"}, "starts_on"),   # the English order, in Italian
    ({"starts_on": "", "ends_on": "03/08/2026"}, "starts_on"),
    ({"starts_on": "01/08/2026", "ends_on": "03/08/2026", "note": "x" * 301}, "note"),
    ({"starts_on": "10/07/2026", "ends_on": "05/08/2026"}, "starts_on"),   # overlaps the one recorded
])
def test_bad_absences_are_refused_on_their_field_and_nothing_is_saved(client, make, data, field):
    client.login(make.user("admin", language="it"))
    agent = make.user("agent")
    db.session.add(Absence(user_id=agent.id, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 10)))
    db.session.commit()
    response = client.post(f"/settings/users/{agent.id}/absences", data=data)
    assert response.status_code == 422
    assert f'<span id="{field}-error"><small class="error">' in response.get_data(as_text=True)
    assert _count() == 1


def test_each_user_keeps_their_own_absences_and_only_theirs(app, make):
    agent, other = make.user("agent", language="en"), make.user("agent")
    theirs = Absence(user_id=other.id, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 2))
    db.session.add(theirs)
    db.session.commit()
    client = app.test_client()
    client.login(agent)
    assert client.get("/account/absences").status_code == 200
    assert client.post("/account/absences", data={"starts_on": "12/21/2026", "ends_on": "12/31/2026"}).status_code == 302
    mine = db.session.execute(select(Absence).where(Absence.user_id == agent.id)).scalar_one()
    assert mine.starts_on.isoformat() == "2026-12-21"
    assert client.post(f"/account/absences/{theirs.id}/delete").status_code == 404
    # Another user's absences in Settings need the settings permission.
    assert client.get(f"/settings/users/{other.id}/absences").status_code == 403
    assert client.post(f"/settings/users/{other.id}/absences/{theirs.id}/delete").status_code == 403
    assert client.post(f"/account/absences/{mine.id}/delete").status_code == 302
    assert _count() == 1


def test_partners_have_no_absence_pages(app, make):
    company = make.company()
    partner = make.user("partner", company=company)
    agent = make.user("agent")
    absence = _away(agent)
    client = app.test_client()
    client.login(partner)
    for url in ("/account/absences", f"/settings/users/{agent.id}/absences"):
        assert client.get(url).status_code == 404
    for url in ("/account/absences", f"/account/absences/{absence.id}/delete",
                f"/settings/users/{agent.id}/absences/{absence.id}/delete"):
        assert client.post(url, data={"starts_on": "2026-12-01", "ends_on": "2026-12-02"}).status_code == 404
    admin = app.test_client()
    admin.login(make.user("admin"))
    assert admin.get(f"/settings/users/{partner.id}/absences").status_code == 404  # no supervisor to stand in
    assert admin.post(f"/settings/users/{agent.id}/absences/{absence.id + 999}/delete").status_code == 404
    assert _count() == 1
