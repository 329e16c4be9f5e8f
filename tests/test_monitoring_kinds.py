"""The supervisor's monitoring rules of seed 002 (M1–M4) through real worker processes: notify supervisor,
add history entry, create task, complete tasks — each option, and what a person sees of them."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from extensions import db
from models import ActionRun, HistoryEntry, Notification, Task, TaskPerson, TaskStatusChange
from models.base import utcnow
from services.substates import open_substate
from tests.engine_support import add_action, runs, wait_for


def final_run(kind: str, timeout: float = 30.0) -> ActionRun:
    return wait_for(lambda: next((r for r in runs(kind=kind) if r.is_final), None), timeout=timeout,
                    message=f"the {kind} run to end")


def world(make, kind: str, group: str = "on_open", delay=None, owner=None, **config):
    """A flow whose first substate runs `kind` on open; an opportunity of Lucia (supervised by Sergio)."""
    flow = make.flow((2, 1))
    sub = flow.substates[0]
    supervisor = make.user("manager", name="Sergio Supervisore", language="it")
    if owner is None:
        owner = make.user("agent", name="Lucia Bianchi", language="es", supervisor_id=supervisor.id)
    opp = make.opportunity(flow, name="Impianto Rossi", amount=Decimal("12345.5"), owner=owner)
    action = add_action(sub, group, kind, delay=delay, **config)
    return {"flow": flow, "sub": sub, "opp": opp, "owner": owner, "supervisor": supervisor, "action": action}


def run_it(w, kind: str) -> ActionRun:
    open_substate(w["opp"], w["sub"].id, None)
    db.session.commit()
    return final_run(kind)


def notifications() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.execute(select(Notification).order_by(Notification.user_id)).scalars())


MESSAGE = "{{ opportunity.name }} ({{ opportunity.amount }}) di {{ owner.name }} è ancora aperta."


# --- M1 Notify supervisor ------------------------------------------------------------------------------

def test_supervisor_gets_the_message_in_app_with_a_link_and_the_run(make, workers):
    w = world(make, "notify_supervisor", message=MESSAGE, include_supervisor=True, user_ids=[])
    workers.start(1)
    run = run_it(w, "notify_supervisor")
    assert run.status == "succeeded", run.error
    (note,) = notifications()
    assert note.user_id == w["supervisor"].id and note.kind == "supervisor" and note.run_id == run.id
    # In the supervisor's language (Italian): the amount formatted for them, the responsible user named.
    assert note.body == note.text == "Impianto Rossi (12.345,50\xa0€) di Lucia Bianchi è ancora aperta."
    assert note.link == f"/opportunities/{w['opp'].id}"
    assert run.result["recipient_ids"] == [w["supervisor"].id] and run.result["emailed"] == 0


def test_chosen_users_are_added_once_and_inactive_ones_left_out(make, workers, client):
    english = make.user("manager", name="Emma English", language="en")
    gone = make.user("manager", name="Old Boss", active=False)
    w = world(make, "notify_supervisor", message=MESSAGE, include_supervisor=True, user_ids=[english.id, gone.id])
    # The supervisor chosen again as a user is still notified once.
    w["action"].config = {**w["action"].config, "user_ids": [english.id, gone.id, w["supervisor"].id]}
    db.session.commit()
    workers.start(1)
    run = run_it(w, "notify_supervisor")
    assert run.status == "succeeded", run.error
    got = {n.user_id: n.body for n in notifications()}
    assert set(got) == {w["supervisor"].id, english.id} == set(run.result["recipient_ids"])
    assert got[english.id] == "Impianto Rossi (€12,345.50) di Lucia Bianchi è ancora aperta."
    client.login(english)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Impianto Rossi (€12,345.50) di Lucia Bianchi" in page and f'/opportunities/{w["opp"].id}' in page


def test_only_chosen_users_when_the_supervisor_is_left_out(make, workers):
    other = make.user("manager", name="Other Person")
    w = world(make, "notify_supervisor", message="Hi", include_supervisor=False, user_ids=[other.id])
    workers.start(1)
    run = run_it(w, "notify_supervisor")
    assert run.status == "succeeded" and [n.user_id for n in notifications()] == [other.id]


def test_no_supervisor_skips_the_run_with_the_reason_shown(make, workers, client):
    lonely = make.user("agent", name="Senza Capo")
    w = world(make, "notify_supervisor", owner=lonely, message=MESSAGE, include_supervisor=True, user_ids=[])
    workers.start(1)
    run = run_it(w, "notify_supervisor")
    assert run.status == "skipped" and run.reason == "no_supervisor" and notifications() == []
    client.login(make.user("manager"))
    page = client.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)
    assert "has no supervisor, and no other recipient was chosen." in page and "Notify supervisor" in page


def test_delayed_notify_waits_for_the_responsible_users_working_hours(make, workers):
    # Lucia works one weekday only, 09:00–10:00 UTC: the one three days from now.
    day = (utcnow() + timedelta(days=3)).date()
    supervisor = make.user("manager", name="Sergio")
    owner = make.user("agent", name="Lucia", supervisor_id=supervisor.id, timezone="UTC",
                      work_days=str(day.isoweekday()), work_start=time(9), work_end=time(10))
    w = world(make, "notify_supervisor", group="scheduled", delay=(1, "days"), owner=owner, message="Late",
              include_supervisor=True, user_ids=[])
    w["action"].respect_working_hours = True
    db.session.commit()
    workers.start(1)
    open_substate(w["opp"], w["sub"].id, None)
    db.session.commit()
    (run,) = runs(kind="notify_supervisor")
    assert run.status == "scheduled"
    assert run.due_at == datetime.combine(day, time(9), UTC).replace(tzinfo=None)


# --- M2 Add history entry -------------------------------------------------------------------------------

def test_history_entry_is_on_the_timeline_written_by_its_author(make, workers, client):
    author = make.user("manager", name="Marta Controllo")
    w = world(make, "add_history_entry", text="Non spostata in tempo: {{ opportunity.amount }}",
              author_id=author.id)
    workers.start(1)
    run = run_it(w, "add_history_entry")
    assert run.status == "succeeded", run.error
    entry = db.session.execute(select(HistoryEntry)).scalar_one()
    assert (entry.opportunity_id, entry.author_id, entry.run_id) == (w["opp"].id, author.id, run.id)
    assert entry.text == "Non spostata in tempo: €12,345.50" and run.result["history_entry_id"] == entry.id
    client.login(make.user("manager", name="Reader"))
    page = client.get(f"/opportunities/{w['opp'].id}").get_data(as_text=True)
    assert "Marta Controllo wrote:" in page and "Non spostata in tempo: €12,345.50" in page
    # Newest first, in order with the runs: the entry was written after its run was created.
    assert page.index(f'id="timeline-entry-{entry.id}"') < page.index(f'id="timeline-run-{run.id}"')


def test_partners_do_not_see_history_entries(make, workers, client):
    author = make.user("manager", name="Marta Controllo")
    w = world(make, "add_history_entry", text="Rule broken", author_id=author.id)
    partner = make.partner()
    w["opp"].installer_id = partner.company_id
    db.session.commit()
    workers.start(1)
    assert run_it(w, "add_history_entry").status == "succeeded"
    client.login(partner)
    response = client.get(f"/opportunities/{w['opp'].id}")
    assert response.status_code == 200 and "Rule broken" not in response.get_data(as_text=True)


def test_history_entry_for_a_deleted_author_fails_with_the_reason(make, workers):
    w = world(make, "add_history_entry", text="x", author_id=999999)
    workers.start(1)
    run = run_it(w, "add_history_entry")
    assert run.status == "failed" and "no longer exists" in run.error
    assert db.session.execute(select(HistoryEntry)).first() is None


# --- M3 Create task -------------------------------------------------------------------------------------

def task_of(run) -> Task:
    db.session.expire_all()
    return db.session.get(Task, run.result["task_id"])


@pytest.mark.parametrize("who", ["owner", "supervisor", "user"])
def test_task_for_each_responsible_option(make, workers, who):
    chosen = make.user("manager", name="Chosen One")
    w = world(make, "create_task", title="Prepara il progetto per {{ client.name }}",
              description="Importo {{ opportunity.amount }}", responsible=who,
              responsible_user_id=chosen.id if who == "user" else None, deadline_amount=2, deadline_unit="hours",
              working_hours=False, participant_ids=[], observer_ids=[])
    workers.start(1)
    before = utcnow()
    run = run_it(w, "create_task")
    assert run.status == "succeeded", run.error
    task = task_of(run)
    expected = {"owner": w["owner"], "supervisor": w["supervisor"], "user": chosen}[who]
    assert task.responsible_id == expected.id
    assert task.title == f"Prepara il progetto per {w['opp'].customer.name}" and task.description == "Importo €12,345.50"
    assert (task.opportunity_id, task.substate_id, task.run_id) == (w["opp"].id, w["sub"].id, run.id)
    assert task.by_automation and task.created_by_id is None and task.status == "todo"
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= task.deadline <= utcnow() + timedelta(hours=2)


def test_task_deadline_moves_into_working_hours_and_people_are_recorded(make, workers):
    day = (utcnow() + timedelta(days=3)).date()
    owner = make.user("agent", name="Lucia", timezone="UTC", work_days=str(day.isoweekday()),
                      work_start=time(9), work_end=time(10))
    helper, watcher = make.user("agent", name="Helper"), make.user("manager", name="Watcher")
    gone = make.user("agent", name="Gone", active=False)
    w = world(make, "create_task", owner=owner, title="Call", description="", responsible="owner",
              responsible_user_id=None, deadline_amount=1, deadline_unit="days", working_hours=True,
              participant_ids=[helper.id, gone.id], observer_ids=[watcher.id])
    workers.start(1)
    run = run_it(w, "create_task")
    assert run.status == "succeeded", run.error
    task = task_of(run)
    assert task.deadline == datetime.combine(day, time(9), UTC).replace(tzinfo=None)
    people = {(p.user_id, p.role) for p in db.session.execute(select(TaskPerson)).scalars()}
    assert people == {(helper.id, "participant"), (watcher.id, "observer")}


def test_task_without_a_deadline(make, workers):
    w = world(make, "create_task", title="Call", responsible="owner", deadline_amount=None, deadline_unit="days")
    workers.start(1)
    assert task_of(run_it(w, "create_task")).deadline is None


@pytest.mark.parametrize("who,words", [("owner", "has no responsible user"), ("supervisor", "has no active supervisor")])
def test_task_with_nobody_responsible_fails_with_a_clear_message(make, workers, who, words):
    lonely = make.user("agent", name="Senza Capo")
    w = world(make, "create_task", owner=lonely, title="Call", responsible=who, deadline_amount=None,
              deadline_unit="days")
    if who == "owner":
        w["opp"].owner_id = None
        db.session.commit()
    workers.start(1)
    run = run_it(w, "create_task")
    assert run.status == "failed" and words in run.error
    assert db.session.execute(select(Task)).first() is None


# --- M4 Complete tasks ----------------------------------------------------------------------------------

def _task(opp, sub, title, by_automation=True, status="todo") -> Task:
    task = Task(opportunity_id=opp.id, substate_id=sub.id, title=title, description="", status=status,
                by_automation=by_automation, created_at=utcnow())
    db.session.add(task)
    db.session.commit()
    return task


def test_complete_tasks_closes_only_open_automation_tasks_of_the_chosen_substates(make, workers):
    flow = make.flow((2, 2))
    s11, s12, s21, s22 = flow.substates
    opp = make.opportunity(flow)
    other_opp = make.opportunity(flow)
    add_action(s22, "on_open", "complete_tasks", type_ids=[flow.id], substate_ids=[s11.id, s12.id])
    done = [_task(opp, s11, "From A"), _task(opp, s12, "From B", status="in_progress")]
    kept = [_task(opp, s11, "By a person", by_automation=False), _task(opp, s21, "Other substate"),
            _task(opp, s11, "Deferred", status="deferred"), _task(other_opp, s11, "Other opportunity")]
    workers.start(1)
    open_substate(opp, s22.id, None)
    db.session.commit()
    run = final_run("complete_tasks")
    assert run.status == "succeeded", run.error
    assert run.result == {"completed_task_ids": [t.id for t in done]}
    db.session.expire_all()
    assert [db.session.get(Task, t.id).status for t in done] == ["completed", "completed"]
    assert [db.session.get(Task, t.id).status for t in kept] == ["todo", "todo", "deferred", "todo"]
    changes = db.session.execute(select(TaskStatusChange).order_by(TaskStatusChange.id)).scalars().all()
    assert [(c.task_id, c.from_status, c.to_status, c.run_id, c.user_id) for c in changes] == [
        (done[0].id, "todo", "completed", run.id, None), (done[1].id, "in_progress", "completed", run.id, None)]


def test_complete_tasks_ignores_substates_of_types_not_chosen(make, workers):
    flow, other = make.flow((2,)), make.flow((1,))
    a, b = flow.substates
    opp = make.opportunity(flow)
    # Chosen substate `a`, but only the other type: the type filter holds too.
    add_action(b, "on_open", "complete_tasks", type_ids=[other.id], substate_ids=[a.id])
    task = _task(opp, a, "From A")
    workers.start(1)
    open_substate(opp, b.id, None)
    db.session.commit()
    run = final_run("complete_tasks")
    assert run.status == "succeeded" and run.result == {"completed_task_ids": []}
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "todo"


def test_create_then_complete_through_the_engine(make, workers):
    """The seed's example: a task created when one substate opens is completed when another opens."""
    flow = make.flow((2,))
    a, b = flow.substates
    owner = make.user("agent", name="Lucia")
    opp = make.opportunity(flow, owner=owner)
    add_action(a, "on_open", "create_task", title="Prepara il progetto", responsible="owner",
               deadline_amount=1, deadline_unit="days")
    add_action(b, "on_open", "complete_tasks", type_ids=[flow.id], substate_ids=[a.id])
    workers.start(1)
    open_substate(opp, a.id, None)
    db.session.commit()
    created = final_run("create_task")
    open_substate(opp, b.id, None)
    db.session.commit()
    run = final_run("complete_tasks")
    assert run.result == {"completed_task_ids": [created.result["task_id"]]}
    assert task_of(created).status == "completed"
