"""The API's tasks (issue 13): the /tasks page's views and filters with the same rows, one task, and the status
change through services.tasks — the same people may change it, and it fires task-status triggers."""

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from extensions import db
from models import OpportunitySubstate, Task, TaskStatusChange, Trigger
from models.base import utcnow
from services import tasks as svc
from services.substates import open_substate
from tests.api_support import bearer as auth
from tests.api_support import forget_locale_per_request, listed_ids, problem


@pytest.fixture(autouse=True)
def _locale(app):
    forget_locale_per_request(app)


@pytest.fixture
def world(make):
    flow = make.flow((1, 2))
    inst_a, inst_b = make.company("installer"), make.company("installer")
    people = {"admin": make.user("admin"), "manager": make.user("manager", name="Marta Manager"),
              "agent": make.user("agent", name="Aldo Agent"), "outsider": make.user("agent", name="Otto"),
              "pa": make.user("partner", company=inst_a), "pa2": make.user("partner", company=inst_a),
              "pb": make.user("partner", company=inst_b)}
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
        "undated": svc.create_task(opps["a"], "Some day", responsible_id=a.id, user=m),
        "bravo": svc.create_task(opps["b"], "Bravo survey", responsible_id=m.id, deadline=now + timedelta(days=3),
                                 user=m),
    }
    svc.change_status(tasks["bravo"], "completed", m)
    db.session.commit()
    return {"people": people, "opps": opps, "tasks": tasks, "flow": flow}


def _ids(client, headers, query: str = "", limit: int = 2) -> list[int]:
    """Every task id the API lists for the query, following the cursors."""
    return listed_ids(client, "/api/v1/tasks", headers, query, limit)


def _page_ids(client, user, query: str) -> list[int]:
    """The task ids the /tasks page lists for the same filters, in its order (one page holds them all here)."""
    g.pop("_login_user", None)
    client.login(user)
    html = client.htmx("GET", f"/tasks?{query}").get_data(as_text=True)
    client.post("/logout")
    g.pop("_login_user", None)
    return [int(i) for i in re.findall(r'<tr id="task-(\d+)"', html)]


QUERIES = ["", "view=all", "view=all&status=any", "view=all&status=completed", "view=involved&status=any",
           "view=all&opportunity=alpha", "view=all&deadline_from={today}", "view=all&deadline_to={today}",
           "view=all&status=any&responsible_id={manager}"]


@pytest.mark.parametrize("who", ["admin", "agent", "pa", "pb"])
def test_the_list_gives_the_task_pages_rows_in_its_order(client, world, who):
    user, seen = world["people"][who], set()
    for query in QUERIES:
        query = query.format(today=utcnow().date().isoformat(), manager=world["people"]["manager"].id)
        expected = _page_ids(client, user, query.replace("responsible_id=", "responsible="))
        assert _ids(client, auth(user), query) == expected, query
        seen |= set(expected)
    opp_a = {t.id for t in world["tasks"].values() if t.opportunity_id == world["opps"]["a"].id}
    assert not seen & opp_a if who == "pb" else seen  # another company never sees opportunity A's tasks


def test_every_task_for_admin_and_a_partner_sees_their_companys(client, world):
    tasks = world["tasks"]
    assert set(_ids(client, auth(world["people"]["admin"]), "view=all&status=any")) == {t.id for t in tasks.values()}
    partner = set(_ids(client, auth(world["people"]["pa"]), "view=all&status=any"))
    assert partner == {tasks["late"].id, tasks["soon"].id, tasks["undated"].id}


def test_get_a_task_scoped(client, world):
    late, bravo = world["tasks"]["late"], world["tasks"]["bravo"]
    body = client.get(f"/api/v1/tasks/{late.id}", headers=auth(world["people"]["pa"])).get_json()
    assert body["title"] == "Call back the client" and body["opportunity"]["name"] == "Alpha roof"
    assert body["participant_ids"] == [world["people"]["pa"].id] and body["may_change"] is True
    assert body["responsible"]["name"] == "Marta Manager" and body["status"] == "todo"
    assert client.get(f"/api/v1/tasks/{late.id}", headers=auth(world["people"]["pa2"])).get_json()["may_change"] is False
    body = problem(client.get(f"/api/v1/tasks/{bravo.id}", headers=auth(world["people"]["pa"], lang="it")), 404)
    assert body["detail"] == "Questo incarico non esiste."
    problem(client.get("/api/v1/tasks/2147483647", headers=auth(world["people"]["admin"])), 404)


def test_status_change_through_the_service_records_who(client, world):
    soon, agent = world["tasks"]["soon"], world["people"]["agent"]
    response = client.patch(f"/api/v1/tasks/{soon.id}", json={"status": "in_progress"}, headers=auth(agent))
    assert response.status_code == 200 and response.get_json()["status"] == "in_progress"
    db.session.expire_all()
    change = db.session.execute(select(TaskStatusChange).where(TaskStatusChange.task_id == soon.id)).scalar_one()
    assert change.user_id == agent.id and change.from_status == "todo" and change.to_status == "in_progress"
    # The same status again changes nothing.
    assert client.patch(f"/api/v1/tasks/{soon.id}", json={"status": "in_progress"}, headers=auth(agent)).status_code == 200
    assert db.session.execute(select(func.count()).select_from(TaskStatusChange)
                              .where(TaskStatusChange.task_id == soon.id)).scalar() == 1


def test_status_change_refusals(client, world):
    late, bravo = world["tasks"]["late"], world["tasks"]["bravo"]
    people = world["people"]
    changes = db.session.execute(select(func.count()).select_from(TaskStatusChange)).scalar()
    body = problem(client.patch(f"/api/v1/tasks/{late.id}", json={"status": "finished"},
                                headers=auth(people["manager"], lang="es")), 422)
    assert body["errors"]["status"] == ["Elige un estado de la lista."]
    body = problem(client.patch(f"/api/v1/tasks/{late.id}", json={"status": "finished"},
                                headers=auth(people["manager"], lang="it")), 422)
    assert body["errors"]["status"] == ["Scegli uno stato dall'elenco."]
    problem(client.patch(f"/api/v1/tasks/{late.id}", json={}, headers=auth(people["manager"])), 422)
    problem(client.patch(f"/api/v1/tasks/{late.id}", data="status=completed", headers=auth(people["manager"])), 422)
    # An observer may see it but not change it; another company's partner does not even see it.
    body = problem(client.patch(f"/api/v1/tasks/{late.id}", json={"status": "completed"},
                                headers=auth(people["pa2"], lang="it")), 403)
    assert body["detail"] == "Non puoi modificare questo incarico."
    problem(client.patch(f"/api/v1/tasks/{late.id}", json={"status": "completed"}, headers=auth(people["pb"])), 404)
    problem(client.patch(f"/api/v1/tasks/{bravo.id}", json={"status": "todo"}, headers=auth(people["pa"])), 404)
    body = problem(client.patch(f"/api/v1/tasks/{late.id}", json={"status": "completed"},
                                headers=auth(people["admin"], ["read"])), 403)
    assert "write" in body["detail"]
    db.session.expire_all()
    assert db.session.get(Task, late.id).status == "todo"
    assert db.session.execute(select(func.count()).select_from(TaskStatusChange)).scalar() == changes
    # A participant (partner of the opportunity's company) may.
    ok = client.patch(f"/api/v1/tasks/{late.id}", json={"status": "in_progress"}, headers=auth(people["pa"]))
    assert ok.status_code == 200


def test_the_change_fires_a_task_status_trigger_as_the_page_does(client, world):
    flow, opp, soon = world["flow"], world["opps"]["a"], world["tasks"]["soon"]
    s1, s2 = flow.substates[0], flow.substates[1]
    open_substate(opp, s1.id, None)
    db.session.add(Trigger(substate_id=s2.id, kind="task_status", name="Quote sent",
                           config={"status": "completed", "title_words": "", "responsible_id": None,
                                   "created_in_substate_id": None}, enabled=True))
    db.session.commit()
    response = client.patch(f"/api/v1/tasks/{soon.id}", json={"status": "completed"},
                            headers=auth(world["people"]["agent"]))
    assert response.status_code == 200
    db.session.expire_all()
    opened = db.session.execute(select(OpportunitySubstate.status).where(
        OpportunitySubstate.opportunity_id == opp.id, OpportunitySubstate.substate_id == s2.id)).scalar()
    assert opened == "open"


def test_bad_list_filters(client, world):
    headers = auth(world["people"]["admin"], lang="es")
    body = problem(client.get("/api/v1/tasks?status=nope", headers=headers), 422)
    assert body["errors"]["status"] == ["Elige un estado de la lista."]
    problem(client.get("/api/v1/tasks?view=everyone", headers=headers), 422)
    problem(client.get("/api/v1/tasks?deadline_from=31/12/2026", headers=headers), 422)
    problem(client.get("/api/v1/tasks?responsible_id=abc", headers=headers), 422)
    problem(client.get("/api/v1/tasks?cursor=abc", headers=headers), 400)
    problem(client.get("/api/v1/tasks?opportunity=a%00b", headers=headers), 422)
    for query in ("deadline_to=9999-12-31", "deadline_from=0001-01-01"):
        problem(client.get(f"/api/v1/tasks?view=all&{query}", headers=headers), 422)  # no overflow
