"""Tasks pages (seed 002): the list in the main navigation, the task page and its status change, the Tasks
section of the opportunity page and its Add task form — as internal and partner users see them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Task, TaskPerson, TaskStatusChange
from models.base import utcnow
from services import events
from services import tasks as svc


@pytest.fixture
def world(make):
    flow = make.flow((1, 2))
    inst_a, inst_b = make.company("installer"), make.company("installer")
    people = {"manager": make.user("manager", name="Marta Manager", language="en"),
              "agent": make.user("agent", name="Aldo Agent", language="en"),
              "pa": make.user("partner", company=inst_a, name="Paola Partner", language="en"),
              "pa2": make.user("partner", company=inst_a, name="Pino Partner", language="en"),
              "pb": make.user("partner", company=inst_b, name="Piero Partner", language="en")}
    m, a = people["manager"], people["agent"]
    opps = {"a": make.opportunity(flow, name="Alpha roof", installer=inst_a, owner_id=a.id),
            "b": make.opportunity(flow, name="Bravo roof", installer=inst_b)}
    now = utcnow()
    tasks = {
        "late": svc.create_task(opps["a"], "Call back the client", "Ask about the roof.", responsible_id=m.id,
                                deadline=now - timedelta(days=1), participants=[people["pa"].id],
                                observers=[people["pa2"].id], substate_id=flow.substates[0].id, user=m),
        "soon": svc.create_task(opps["a"], "Send the quote", responsible_id=a.id, deadline=now + timedelta(days=2),
                                user=m),
        "bravo": svc.create_task(opps["b"], "Bravo survey", responsible_id=m.id, deadline=now + timedelta(days=3),
                                 user=m),
    }
    db.session.commit()
    return {"people": people, "opps": opps, "tasks": tasks, "flow": flow}


def as_user(client, user):
    """Log in as `user`, logging out whoever the client was first (the login page skips a logged-in user)."""
    client.post("/logout")
    client.login(user)


def body(response) -> str:
    return response.get_data(as_text=True)


def test_tasks_in_the_main_navigation_for_internal_and_partner_users(client, world):
    for who in ("manager", "pa"):
        as_user(client, world["people"][who])
        page = body(client.get("/tasks"))
        assert '<a href="/tasks" aria-current="page">Tasks</a>' in page


def test_list_views_filters_columns_and_overdue_mark(client, world):
    m = world["people"]["manager"]
    late, soon = world["tasks"]["late"], world["tasks"]["soon"]
    client.login(m)
    mine = body(client.get("/tasks"))
    assert "Call back the client" in mine and "Bravo survey" in mine and "Send the quote" not in mine
    assert f'href="/tasks/{late.id}"' in mine and f'href="/opportunities/{late.opportunity_id}"' in mine
    assert 'data-label="Deadline"' in mine and "Substate 1.1" in mine
    # The overdue task says so in words, the one due later does not.
    row = mine.split(f'id="task-{late.id}"')[1].split("</tr>")[0]
    assert "Overdue" in row and f'<tr id="task-{late.id}" class="overdue">' in mine
    assert "Overdue" not in mine.split(f'id="task-{world["tasks"]["bravo"].id}"')[1].split("</tr>")[0]
    everyone = body(client.get("/tasks?view=all"))
    assert all(t in everyone for t in ("Call back the client", "Send the quote", "Bravo survey"))
    assert "Send the quote" in body(client.get(f"/tasks?view=all&responsible={soon.responsible_id}"))
    assert "Bravo survey" not in body(client.get(f"/tasks?view=all&responsible={soon.responsible_id}"))
    only_alpha = body(client.htmx("GET", "/tasks?view=all&opportunity=alpha"))
    assert only_alpha.lstrip().startswith('<div id="tasks-table">') and "Bravo survey" not in only_alpha
    assert "Send the quote" in only_alpha
    assert "No task matches" in body(client.get("/tasks?view=all&status=completed"))
    refused = body(client.get("/tasks?view=all&deadline_from=45/13/2026"))
    assert "Invalid date" in refused and "Bravo survey" in refused  # said, and left out


def test_participant_sees_the_task_where_they_take_part(client, world):
    client.login(world["people"]["pa"])
    involved = body(client.get("/tasks?view=involved"))
    assert "Call back the client" in involved and "Send the quote" not in involved
    assert "Bravo" not in body(client.get("/tasks?view=all&status=any"))


def test_task_page_shows_what_whose_by_when_and_who_created_it(client, world):
    late = world["tasks"]["late"]
    client.login(world["people"]["agent"])
    page = body(client.get(f"/tasks/{late.id}"))
    for text in ("Call back the client", "Ask about the roof.", "Alpha roof", "Substate 1.1", "Marta Manager",
                 "Paola Partner", "Pino Partner", "Overdue", '<select id="task-status" name="status">',
                 "Change status", '<label for="task-status">Status</label>'):
        assert text in page, text
    assert page.count("Marta Manager") >= 2  # responsible and creator


def test_task_created_by_automation_links_the_run(client, world):
    from tests import history_support as hs

    run = hs.run(world["opps"]["a"], "create_task", "succeeded")
    task = svc.create_task(world["opps"]["a"], "Made by a rule", responsible_id=None, run_id=run.id)
    svc.change_status(task, "completed", None, run_id=run.id)
    db.session.commit()
    client.login(world["people"]["manager"])
    page = body(client.get(f"/tasks/{task.id}"))
    assert f'href="/opportunities/{task.opportunity_id}#timeline-run-{run.id}">Automation' in page
    log = page.split('id="task-status-log"')[1]
    assert "<td data-label=\"Who\">Automation</td>" in log


def test_status_change_records_who_and_when_swaps_the_block_and_fires_the_event(client, world):
    soon = world["tasks"]["soon"]
    agent = world["people"]["agent"]
    client.login(agent)
    heard = []

    def receiver(sender, change):
        # Inside the route's transaction, before its one commit: what a trigger would see.
        heard.append((sender.id, change.new_status, change.user.id))

    events.task_status_changed.connect(receiver)
    try:
        swapped = client.htmx("POST", f"/tasks/{soon.id}/status", data={"status": "in_progress"})
    finally:
        events.task_status_changed.disconnect(receiver)
    assert swapped.status_code == 200 and heard == [(soon.id, "in_progress", agent.id)]
    html = body(swapped)
    assert html.lstrip().startswith('<section id="status-block"') and "Aldo Agent" in html and "In progress" in html
    db.session.expire_all()
    change = db.session.execute(select(TaskStatusChange).where(TaskStatusChange.task_id == soon.id)).scalar_one()
    assert change.user_id == agent.id and abs((utcnow() - change.at).total_seconds()) < 60
    # Without JavaScript the form posts and the page comes back with a message.
    plain = client.post(f"/tasks/{soon.id}/status", data={"status": "completed"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/tasks/{soon.id}")
    assert "Status changed to Completed." in body(client.get(f"/tasks/{soon.id}"))
    assert db.session.get(Task, soon.id).status == "completed"


def test_bad_status_is_refused_with_a_message_and_nothing_saved(client, world):
    soon = world["tasks"]["soon"]
    client.login(world["people"]["agent"])
    for send in (lambda d: client.htmx("POST", f"/tasks/{soon.id}/status", data=d),
                 lambda d: client.post(f"/tasks/{soon.id}/status", data=d)):
        refused = send({"status": "finished"})
        assert refused.status_code == 422 and "Choose a status from the list." in body(refused)
        assert 'aria-invalid="true"' in body(refused)
    assert db.session.execute(select(func.count()).select_from(TaskStatusChange)).scalar() == 0


def test_observer_only_and_outsiders_may_not_change_the_status(client, world):
    late = world["tasks"]["late"]
    client.login(world["people"]["pa2"])  # observer of the task, partner of its opportunity
    page = body(client.get(f"/tasks/{late.id}"))
    assert "Change status" not in page and "Call back the client" in page
    assert client.post(f"/tasks/{late.id}/status", data={"status": "completed"}).status_code == 403
    as_user(client, world["people"]["pb"])  # another company: not even visible
    assert client.get(f"/tasks/{late.id}").status_code == 404
    assert client.post(f"/tasks/{late.id}/status", data={"status": "completed"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, late.id).status == "todo"
    as_user(client, world["people"]["pa"])  # a participant may
    assert client.post(f"/tasks/{late.id}/status", data={"status": "in_progress"}).status_code == 302


def test_partner_sees_only_their_companys_tasks(client, world):
    client.login(world["people"]["pa"])
    listing = body(client.get("/tasks?view=all&status=any"))
    assert "Call back the client" in listing and "Bravo survey" not in listing and "Bravo roof" not in listing
    assert client.get(f"/tasks/{world['tasks']['bravo'].id}").status_code == 404
    assert "Bravo survey" not in body(client.get(f"/tasks?view=all&responsible={world['people']['manager'].id}"))


def test_opportunity_page_lists_its_tasks(client, world):
    client.login(world["people"]["pa"])
    page = body(client.get(f"/opportunities/{world['opps']['a'].id}"))
    section = page.split('<section id="tasks"')[1].split("</section>")[0]
    assert "Call back the client" in section and "Send the quote" in section and "Overdue" in section
    assert f'href="/tasks/{world["tasks"]["late"].id}"' in section and "Add task" not in section  # partners don't add


def test_add_task_form_creates_the_task_with_its_people_and_deadline(client, world):
    opp, m = world["opps"]["a"], world["people"]["manager"]
    pa, pa2 = world["people"]["pa"], world["people"]["pa2"]
    client.login(m)
    form_page = body(client.get(f"/opportunities/{opp.id}"))
    assert "Add task" in form_page
    owner_option = f'<option selected value="{opp.owner_id}">'
    assert owner_option in form_page or f'<option value="{opp.owner_id}" selected>' in form_page
    response = client.htmx("POST", f"/opportunities/{opp.id}/tasks", data={
        "title": "Book the crane", "description": "Two days", "responsible_id": str(opp.owner_id),
        "deadline_date": "03/15/2031", "deadline_time": "09:30", "participants": [str(pa.id)],
        "observers": [str(pa2.id), str(m.id)], "substate_id": str(world["flow"].substates[1].id)})
    assert response.status_code == 200 and "Book the crane" in body(response) and "Task added." in body(response)
    task = db.session.execute(select(Task).where(Task.title == "Book the crane")).scalar_one()
    # 09:30 in Rome (m's time zone, winter) is 08:30 UTC.
    assert task.deadline.isoformat() == "2031-03-15T08:30:00" and task.created_by_id == m.id
    assert task.substate_id == world["flow"].substates[1].id and task.responsible_id == opp.owner_id
    roles = {(p.user_id, p.role) for p in db.session.execute(select(TaskPerson).where(TaskPerson.task_id == task.id)).scalars()}
    assert roles == {(pa.id, "participant"), (pa2.id, "observer"), (m.id, "observer")}


@pytest.mark.parametrize("data,message", [
    ({"title": ""}, "This field is required."),
    ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"title": "Ok", "deadline_date": "31/31/2031"}, "Invalid date"),
    ({"title": "Ok", "responsible_id": "999999"}, "Not a valid choice"),
    ({"title": "Ok", "participants": ["abc"]}, "Invalid choice"),
])
def test_add_task_form_refuses_bad_input_with_a_message_and_saves_nothing(client, world, data, message):
    opp = world["opps"]["a"]
    client.login(world["people"]["manager"])
    before = db.session.execute(select(func.count()).select_from(Task)).scalar()
    for send in (lambda: client.htmx("POST", f"/opportunities/{opp.id}/tasks", data=data),
                 lambda: client.post(f"/opportunities/{opp.id}/tasks", data=data)):
        refused = send()
        assert refused.status_code == 422 and message in body(refused), body(refused)[:3000]
    assert db.session.execute(select(func.count()).select_from(Task)).scalar() == before


def test_add_task_is_refused_to_partners(client, world):
    opp = world["opps"]["a"]
    client.login(world["people"]["pa"])
    assert client.post(f"/opportunities/{opp.id}/tasks", data={"title": "Sneaky"}).status_code == 403
    as_user(client, world["people"]["pb"])
    assert client.post(f"/opportunities/{opp.id}/tasks", data={"title": "Sneaky"}).status_code == 404
    assert db.session.execute(select(Task).where(Task.title == "Sneaky")).first() is None
