"""Linked tasks on the opportunity page (T3, seed 003's "Add activity"): up to three tasks under a substate,
shown there and in the task list; completing all of them from the page closes the substate, unless it needs
a note; partners reach only their own opportunities."""

from html import unescape

import pytest
from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Task
from services.substates import open_substate
from tests.engine_support import status_of


@pytest.fixture
def setup(make):
    flow = make.flow((2,))
    opp = make.opportunity(flow, name="Linked deal")
    for sub in flow.substates:
        open_substate(opp, sub.id, None)
    db.session.commit()
    return flow, opp


def add_url(opp, sub) -> str:
    return f"/opportunities/{opp.id}/substates/{sub.id}/linked-tasks"


def status_url(opp, task) -> str:
    return f"/opportunities/{opp.id}/linked-tasks/{task.id}/status"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def linked(opp, sub) -> list[Task]:
    db.session.expire_all()
    return list(db.session.execute(select(Task).where(Task.opportunity_id == opp.id, Task.substate_id == sub.id,
                                                      Task.linked.is_(True)).order_by(Task.id)).scalars())


def test_add_up_to_three_then_the_fourth_is_refused(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    manager = make.user("manager", name="Mara Manager")
    client.login(manager)
    for i in range(3):
        response = client.htmx("POST", add_url(opp, sub), data={
            f"linked-{sub.id}-title": f"Call {i}", f"linked-{sub.id}-responsible_id": str(manager.id),
            f"linked-{sub.id}-deadline_date": "2030-05-04"})
        assert response.status_code == 200, text(response)[:500]
    body = text(response)
    assert all(f"Call {i}" in body for i in range(3)) and "Mara Manager" in body
    # The page's Tasks section comes along (out of band) with the new task in it.
    tasks_section = body[body.index('<section id="tasks"'):]
    assert 'hx-swap-oob="true"' in tasks_section[:200] and "Call 2" in tasks_section
    assert f'action="{add_url(opp, sub)}"' not in body  # no "Add activity" at three
    fourth = client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": "Call 4",
                                                         f"linked-{sub.id}-responsible_id": "0"})
    assert fourth.status_code == 422
    assert _("A substate may have at most %(max)d linked tasks.", max=3) in text(fourth)
    assert [t.title for t in linked(opp, sub)] == ["Call 0", "Call 1", "Call 2"]
    # They are tasks: the task list shows them too.
    tasks_page = text(client.get("/tasks?view=all"))
    assert all(f"Call {i}" in tasks_page for i in range(3))


def test_a_task_without_title_is_refused_with_nothing_saved(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    client.login(make.user("manager"))
    refused = client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": " ",
                                                           f"linked-{sub.id}-responsible_id": "0"})
    assert refused.status_code == 422 and 'aria-invalid="true"' in text(refused)
    assert linked(opp, sub) == []
    # Without JavaScript: the page again, with the form open.
    plain = client.post(add_url(opp, sub), data={f"linked-{sub.id}-title": "", f"linked-{sub.id}-responsible_id": "0"})
    assert plain.status_code == 422 and "<html" in text(plain) and "<details class=\"add-linked\" open" in text(plain)


def test_completing_all_from_the_page_closes_the_substate(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    manager = make.user("manager")
    client.login(manager)
    for i in range(2):
        client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": f"Visit {i}",
                                                     f"linked-{sub.id}-responsible_id": "0"})
    first, second = linked(opp, sub)
    response = client.htmx("POST", status_url(opp, first), data={"status": "completed"})
    assert response.status_code == 200 and status_of(opp, sub) == "open"
    response = client.htmx("POST", status_url(opp, second), data={"status": "completed"})
    assert response.status_code == 200 and status_of(opp, sub) == "closed"
    assert _("“%(name)s” is now closed.", name=sub.label) in text(response)
    assert 'class="substate status-closed"' in text(response)
    # Without JavaScript: back to the page.
    assert client.post(status_url(opp, first), data={"status": "todo"}).status_code == 302
    assert linked(opp, sub)[0].status == "todo"


def test_a_substate_that_needs_a_note_stays_open(client, make, setup):
    flow, opp = setup
    sub = flow.substates[1]
    sub.requires_note = True
    db.session.commit()
    client.login(make.user("manager"))
    client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": "Only", f"linked-{sub.id}-responsible_id": "0"})
    (task,) = linked(opp, sub)
    assert client.htmx("POST", status_url(opp, task), data={"status": "completed"}).status_code == 200
    assert status_of(opp, sub) == "open" and linked(opp, sub)[0].status == "completed"


def test_a_bad_status_is_refused(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    client.login(make.user("manager"))
    client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": "X", f"linked-{sub.id}-responsible_id": "0"})
    (task,) = linked(opp, sub)
    assert client.htmx("POST", status_url(opp, task), data={"status": "cancelled!"}).status_code == 422
    assert linked(opp, sub)[0].status == "todo"


def test_partners_reach_only_their_own_opportunities(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    sub.partner_can_act = True
    db.session.commit()
    manager = make.user("manager")
    client.login(manager)
    client.htmx("POST", add_url(opp, sub), data={f"linked-{sub.id}-title": "Mine", f"linked-{sub.id}-responsible_id": "0"})
    (task,) = linked(opp, sub)
    outsider = make.partner()
    client.post("/logout")
    client.login(outsider)
    data = {f"linked-{sub.id}-title": "Sneaky", f"linked-{sub.id}-responsible_id": "0"}
    assert client.htmx("POST", add_url(opp, sub), data=data).status_code == 404
    assert client.htmx("POST", status_url(opp, task), data={"status": "completed"}).status_code == 404
    assert [t.title for t in linked(opp, sub)] == ["Mine"] and linked(opp, sub)[0].status == "todo"
    # The partner of the opportunity's company adds under a substate marked for partners.
    insider = make.user("partner", company=make.company("installer"))
    opp.installer_id = insider.company_id
    db.session.commit()
    client.post("/logout")
    client.login(insider)
    assert client.htmx("POST", add_url(opp, sub), data=data).status_code == 200
    assert db.session.execute(select(func.count()).select_from(Task).where(Task.linked.is_(True))).scalar_one() == 2
