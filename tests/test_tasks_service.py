"""Tasks (seed 002): the list's views, filters, partner scope and keyset paging (services.task_list), and
the status change: recorded (who, when), refused to those who may not, announced to listeners
(events.task_status_changed) in the caller's transaction."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from extensions import db
from models import Task, TaskStatusChange
from models.base import utcnow
from services import ServiceError, events
from services import task_list as tl
from services import tasks as svc
from services.validation import InvalidData


@pytest.fixture
def world(make):
    """Two partner companies, an opportunity each (and one nobody's), a manager, an agent and tasks."""
    flow = make.flow((1, 2))
    inst_a, inst_b = make.company("installer"), make.company("installer")
    people = {"manager": make.user("manager", name="Marta Manager"), "agent": make.user("agent", name="Aldo Agent"),
              "pa": make.user("partner", company=inst_a, name="Paola Partner"),
              "pb": make.user("partner", company=inst_b, name="Piero Partner")}
    opps = {"a": make.opportunity(flow, name="Alpha roof", installer=inst_a),
            "b": make.opportunity(flow, name="Bravo roof", installer=inst_b),
            "n": make.opportunity(flow, name="Nobody's roof")}
    now = utcnow()
    m, a = people["manager"], people["agent"]
    tasks = {
        "late": svc.create_task(opps["a"], "Call back", responsible_id=m.id, deadline=now - timedelta(days=1), user=m),
        "soon": svc.create_task(opps["a"], "Send quote", responsible_id=a.id, deadline=now + timedelta(days=2),
                                participants=[m.id], user=m),
        "later": svc.create_task(opps["b"], "Survey", responsible_id=m.id, deadline=now + timedelta(days=9), user=m),
        "undated": svc.create_task(opps["n"], "Tidy up", responsible_id=m.id, user=m),
        "watched": svc.create_task(opps["b"], "Install", responsible_id=a.id, deadline=now + timedelta(days=5),
                                   observers=[m.id], user=a),
        "done": svc.create_task(opps["n"], "Measure", responsible_id=m.id, deadline=now - timedelta(days=3), user=m),
    }
    svc.change_status(tasks["done"], "completed", m)
    db.session.commit()
    return {"people": people, "opps": opps, "tasks": tasks}


def titles(user, **args) -> list[str]:
    return [t.title for t in tl.task_page(tl.parse_filters(args), user).tasks]


def test_views_mine_involved_all_in_deadline_order_with_undated_last(world):
    m = world["people"]["manager"]
    assert titles(m) == ["Call back", "Survey", "Tidy up"]  # mine, open, by deadline; no deadline last
    assert titles(m, view="involved") == ["Call back", "Send quote", "Install", "Survey", "Tidy up"]
    assert titles(m, view="all") == ["Call back", "Send quote", "Install", "Survey", "Tidy up"]
    assert titles(m, view="all", status="any")[0] == "Measure"
    assert titles(world["people"]["agent"]) == ["Send quote", "Install"]


def test_filters_status_deadline_responsible_opportunity(world, app):
    m, a = world["people"]["manager"], world["people"]["agent"]
    assert titles(m, view="all", status="completed") == ["Measure"]
    assert titles(m, view="all", status="in_progress") == []
    assert titles(m, view="all", responsible=str(a.id)) == ["Send quote", "Install"]
    assert titles(m, view="all", opportunity="BRAVO") == ["Install", "Survey"]
    assert titles(m, view="all", opportunity="no such") == []
    today = datetime.now(ZoneInfo("Europe/Rome")).date()  # the user's today, not UTC's: they differ near midnight
    with app.test_request_context(headers={"Accept-Language": "it"}):
        # Italian day/month/year, the user's time zone (Europe/Rome by default): from today on.
        assert titles(m, view="all", deadline_from=today.strftime("%d/%m/%Y"))[:1] == ["Send quote"]
        assert titles(m, view="all", deadline_to=(today + timedelta(days=3)).strftime("%d/%m/%Y")) == \
            ["Call back", "Send quote"]
        filters = tl.parse_filters({"deadline_from": "31/02/2026", "status": "bogus", "view": "x"})
        assert filters.deadline_from is None and filters.refused and filters.status == "open" and filters.view == "mine"


def test_partner_sees_only_their_companys_opportunities_tasks(world):
    pa = world["people"]["pa"]
    assert titles(pa, view="all", status="any") == ["Call back", "Send quote"]
    assert titles(pa, view="all", opportunity="Bravo") == []
    assert titles(world["people"]["pb"], view="all") == ["Install", "Survey"]
    with pytest.raises(ServiceError) as refused:
        svc.get_task_or_404(world["tasks"]["later"].id, pa)
    assert refused.value.status == 404
    names = [name for _id, name in tl.responsible_choices(pa)]
    assert "Paola Partner" in names and "Marta Manager" in names and "Piero Partner" not in names


def test_keyset_paging_walks_every_task_once_in_order(make, world):
    m = world["people"]["manager"]
    opp = world["opps"]["a"]
    base = datetime(2030, 1, 1)
    for i in range(23):  # ties on the deadline are ordered by id; some have none
        svc.create_task(opp, f"Bulk {i:02d}", responsible_id=m.id, deadline=None if i % 7 == 0 else base + timedelta(hours=i // 3),
                        user=m)
    db.session.commit()
    expected = [t.title for t in tl.task_page(tl.parse_filters({"view": "involved"}), m, size=500).tasks]
    seen, after = [], None
    while True:
        page = tl.task_page(tl.parse_filters({"view": "involved", **({"after": after} if after else {})}), m, size=4)
        seen += [t.title for t in page.tasks]
        if not page.next_after:
            break
        after = page.next_after
    assert seen == expected and len(expected) == 23 + 5  # each once, in the one-page order
    assert expected[-1] == "Bulk 21" and "Tidy up" in expected[-5:]  # the undated ones last, by id
    assert tl.parse_filters({"after": "garbage"}).after is None


def test_status_change_records_who_and_when_and_fires_the_event(world):
    m, a = world["people"]["manager"], world["people"]["agent"]
    task = world["tasks"]["soon"]
    heard = []

    def receiver(sender, change):
        heard.append((sender.id, change.old_status, change.new_status, change.user.id if change.user else None))

    events.task_status_changed.connect(receiver)
    try:
        before = utcnow()
        change = svc.change_status(task, "in_progress", a)
        assert svc.change_status(task, "in_progress", a) is None  # the same status again changes nothing
        db.session.commit()
    finally:
        events.task_status_changed.disconnect(receiver)
    assert heard == [(task.id, "todo", "in_progress", a.id)]
    assert change.user_id == a.id and change.at >= before - timedelta(seconds=1)
    row = db.session.execute(select(TaskStatusChange).where(TaskStatusChange.task_id == task.id)).scalar_one()
    assert (row.from_status, row.to_status, row.user_id) == ("todo", "in_progress", a.id)
    assert db.session.get(Task, task.id).status_changed_by_id == a.id
    assert m.id in svc.people_of(task)


def test_status_change_refused_for_observers_only_and_outsiders_and_bad_status(make, world):
    task = world["tasks"]["late"]  # on Alpha roof, installer A
    observer = make.user("partner", company=world["opps"]["a"].installer)
    participant = make.user("partner", company=world["opps"]["a"].installer)
    task.people.append(_person(observer.id, "observer"))
    task.people.append(_person(participant.id, "participant"))
    db.session.commit()
    for outsider in (observer, world["people"]["pa"]):
        with pytest.raises(ServiceError) as refused:
            svc.change_status(task, "completed", outsider)
        assert refused.value.status == 403
    with pytest.raises(InvalidData):
        svc.change_status(task, "finished", participant)
    assert svc.change_status(task, "completed", participant).user_id == participant.id
    db.session.commit()
    assert db.session.get(Task, task.id).status == "completed"


def _person(user_id: int, role: str):
    from models import TaskPerson

    return TaskPerson(user_id=user_id, role=role)


def test_local_day_bounds_follow_the_users_time_zone(make):
    rome = make.user("agent", timezone="Europe/Rome")
    assert tl.local_day_start(date(2026, 7, 1), rome) == datetime(2026, 6, 30, 22, 0)
    assert tl.local_day_start(date(2026, 1, 1), make.user("agent", timezone="Not/AZone")) == datetime(2026, 1, 1)
