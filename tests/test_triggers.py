"""T1 "Task status" triggers (seed 002): a task reaching a status opens the trigger's substate in the same
transaction, its on-open actions run in real workers, each option holds, and loops stop with a reason."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Activity, OpportunitySubstate, SubstateEvent, Task, Trigger
from services import ServiceError
from services.events import Chain
from services.substates import close_substate, open_substate
from services.tasks import change_status, create_task
from tests.engine_support import add_action, runs, status_of, wait_for

PLUGINS = "tests.kind_slow,tests.kind_slow_db,tests.kind_flaky,tests.kind_task_flip"


def trigger(sub, status="completed", *, as_user=None, allow_back=False, enabled=True, name=None, **conditions):
    """A task-status trigger saved as is (the designer tests go through the form)."""
    row = Trigger(substate_id=sub.id, kind="task_status", name=name or f"Task {status} → {sub.name}",
                  config={"status": status, "title_words": "", "responsible_id": None,
                          "created_in_substate_id": None, **conditions},
                  as_user_id=as_user.id if as_user else None, allow_back=allow_back, enabled=enabled)
    db.session.add(row)
    db.session.commit()
    return row


def task(opp, title="Prepara il progetto", responsible=None, **kw):
    t = create_task(opp, title, responsible_id=responsible.id if responsible else None, **kw)
    db.session.commit()
    return t


def move(t, status, user=None, **kw):
    """Change the task's status and commit, as the task page does."""
    change = change_status(t, status, user, **kw)
    db.session.commit()
    return change


def trigger_runs():
    return runs(kind="trigger_task_status")


@pytest.fixture
def flow(make):
    """State 1: 1.1, 1.2; state 2: 2.1, 2.2 — the opportunity stands in 1.1."""
    t = make.flow((2, 2))
    opp = make.opportunity(t)
    open_substate(opp, t.substates[0].id, None)
    db.session.commit()
    return t, opp, t.substates


def test_completing_a_task_opens_the_substate_and_its_on_open_actions_run(make, workers, flow):
    t, opp, (s11, s12, s21, s22) = flow
    kind = make.activity_type("Call")
    add_action(s21, "on_open", "create_activity", activity_type_id=kind.id, description="Call {{ opportunity.name }}")
    add_action(s21, "on_open", "open_substate", substate_id=s22.id)
    trigger(s21)
    manager = make.user("manager")
    workers.start(1)
    t1 = task(opp, responsible=manager)
    change = move(t1, "completed", manager)
    # Opened in the status change's own transaction: already committed with it.
    assert status_of(opp, s21) == "open"
    (fired,) = trigger_runs()
    assert (fired.status, fired.trigger, fired.substate_id, fired.user_id) == ("succeeded", "trigger", s21.id,
                                                                               manager.id)
    assert fired.result == {"task_id": t1.id, "change_id": change.id, "substate_id": s21.id}
    assert fired.config["status"] == "completed" and fired.trigger_id is not None
    wait_for(lambda: status_of(opp, s22) == "open", message="the on-open chain to finish")
    wait_for(lambda: all(r.is_final for r in runs()), message="every run final")
    on_open = runs(trigger="on_open", substate_id=s21.id)
    assert [r.status for r in on_open] == ["succeeded", "succeeded"]
    assert all(r.parent_run_id == fired.id and r.chain_id == fired.chain_id and r.chain_depth == 1 for r in on_open)
    activity = db.session.execute(select(Activity)).scalar_one()
    assert activity.description == f"Call {opp.name}" and activity.run_id == on_open[0].id


@pytest.mark.parametrize("status", ["todo", "in_progress", "completed", "deferred"])
def test_only_the_chosen_status_fires(make, flow, status):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, status)
    t1 = task(opp)
    others = [s for s in ("in_progress", "deferred", "completed") if s != status]
    for other in others:
        move(t1, other)
        assert trigger_runs() == [] and status_of(opp, s21) is None  # other statuses record nothing
    move(t1, status)
    (fired,) = trigger_runs()
    assert fired.status == "succeeded" and status_of(opp, s21) == "open"


def test_title_must_contain_every_word_in_any_case(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, title_words="progetto PREPARA")
    move(task(opp, "Prepara l'offerta"), "completed")
    move(task(opp, "Rivedi il progetto"), "completed")
    assert trigger_runs() == [] and status_of(opp, s21) is None
    wanted = task(opp, "Prepara il Progetto esecutivo")
    move(wanted, "completed")
    (fired,) = trigger_runs()
    assert fired.result["task_id"] == wanted.id and status_of(opp, s21) == "open"


def test_responsible_condition(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    ada, bob = make.user("agent", name="Ada"), make.user("agent", name="Bob")
    trigger(s21, responsible_id=ada.id)
    move(task(opp, responsible=bob), "completed")
    move(task(opp), "completed")
    assert trigger_runs() == []
    move(task(opp, responsible=ada), "completed", bob)
    (fired,) = trigger_runs()
    assert fired.status == "succeeded" and fired.user_id == bob.id


def test_created_by_automation_in_substate(make, flow):
    from tests import history_support as hs

    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, created_in_substate_id=s12.id)
    by_person = task(opp, substate_id=s12.id, user=make.user("agent"))
    elsewhere = task(opp, substate_id=s11.id, run_id=hs.run(opp, "create_task").id)
    there = task(opp, substate_id=s12.id, run_id=hs.run(opp, "create_task").id)
    move(by_person, "completed")
    move(elsewhere, "completed")
    assert trigger_runs() == []
    move(there, "completed")
    (fired,) = trigger_runs()
    assert fired.result["task_id"] == there.id and status_of(opp, s21) == "open"


def test_change_as_records_the_move_on_the_users_behalf(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    supervisor, agent = make.user("manager", name="Sara Supervisor"), make.user("agent")
    trigger(s21, as_user=supervisor)
    move(task(opp, responsible=agent), "completed", agent)
    event = db.session.execute(select(SubstateEvent).where(SubstateEvent.substate_id == s21.id)).scalar_one()
    record = db.session.execute(select(OpportunitySubstate).where(OpportunitySubstate.substate_id == s21.id)).scalar_one()
    assert event.user_id == supervisor.id and record.opened_by_id == supervisor.id
    (fired,) = trigger_runs()
    assert fired.user_id == agent.id  # who changed the task; the timeline names the supervisor


def test_without_change_as_the_move_is_automations(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21)
    move(task(opp), "completed", make.user("agent"))
    event = db.session.execute(select(SubstateEvent).where(SubstateEvent.substate_id == s21.id)).scalar_one()
    assert event.user_id is None


def test_never_moves_back_unless_allowed(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    close_substate(opp, s11.id, None)
    open_substate(opp, s21.id, None)
    db.session.commit()
    back = trigger(s12)  # 1.2 is earlier in the flow than 2.1, where the opportunity stands
    t1 = task(opp)
    move(t1, "completed")
    (stopped,) = trigger_runs()
    assert (stopped.status, stopped.reason) == ("skipped", "moving_back") and status_of(opp, s12) is None
    assert "further on" in stopped.reason_text
    back.allow_back = True
    db.session.commit()
    move(t1, "in_progress")
    move(t1, "completed")
    assert trigger_runs()[-1].status == "succeeded" and status_of(opp, s12) == "open"


def test_moving_back_counts_where_it_has_been_when_nothing_is_open(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    close_substate(opp, s11.id, None)
    open_substate(opp, s21.id, None)
    close_substate(opp, s21.id, None)
    db.session.commit()
    trigger(s12)
    forward = trigger(s22)
    move(task(opp), "completed")
    by_sub = {r.substate_id: r for r in trigger_runs()}
    assert by_sub[s12.id].reason == "moving_back" and by_sub[s22.id].status == "succeeded"
    assert forward.id == by_sub[s22.id].trigger_id and status_of(opp, s22) == "open"


def test_an_open_substate_is_skipped_and_each_change_fires_once(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21)
    t1 = task(opp)
    first = move(t1, "completed")
    assert move(t1, "completed") is None  # the same status again is no change: nothing fires
    assert len(trigger_runs()) == 1
    move(t1, "in_progress")
    second = move(t1, "completed")
    fired, skipped = trigger_runs()
    assert (fired.status, fired.result["change_id"]) == ("succeeded", first.id)
    assert (skipped.status, skipped.reason, skipped.result["change_id"]) == ("skipped", "already_open", second.id)
    assert db.session.scalar(select(func.count()).select_from(SubstateEvent)
                             .where(SubstateEvent.substate_id == s21.id)) == 1


def test_disabled_triggers_and_archived_substates_do_not_fire(make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, enabled=False)
    trigger(s22)
    s22.archived = True
    db.session.commit()
    move(task(opp), "completed")
    assert trigger_runs() == [] and status_of(opp, s21) is None and status_of(opp, s22) is None


def test_triggers_of_other_types_do_not_fire(make, flow):
    t, opp, subs = flow
    other = make.flow((1,))
    trigger(other.substates[0])
    move(task(opp), "completed")
    assert trigger_runs() == []


def test_a_loop_trigger_task_trigger_is_stopped_by_the_chain_guard(engine_app, make, workers, flow):
    """2.1's trigger opens it when a task is completed; 2.1 on open closes itself and completes the task
    again (an action that completes tasks): without the guard this would go round for ever."""
    from engine.kinds import load_plugins

    load_plugins(PLUGINS)
    t, opp, (s11, s12, s21, s22) = flow
    looping = trigger(s21, allow_back=True)
    add_action(s21, "on_open", "close_substate", substate_id=s21.id)
    add_action(s21, "on_open", "task_flip", title="progetto")
    workers.start(1, OPPFLOW_KIND_PLUGINS=PLUGINS)
    move(task(opp), "completed", make.user("agent"))
    wait_for(lambda: len(trigger_runs()) == 2 and all(r.is_final for r in runs()), message="the loop to stop")
    fired, stopped = trigger_runs()
    assert (fired.status, fired.chain_depth) == ("succeeded", 0)
    assert (stopped.status, stopped.reason, stopped.trigger_id) == ("skipped", "chain_guard", looping.id)
    assert stopped.chain_id == fired.chain_id and stopped.chain_depth == 2
    assert "loop guard" in stopped.reason_text
    assert [r.status for r in runs(trigger="on_open")] == ["succeeded", "succeeded"]
    assert status_of(opp, s21) == "closed"
    assert db.session.get(Task, fired.result["task_id"]).status == "completed"


def test_a_chain_deeper_than_allowed_fails_with_its_reason(app, make, flow):
    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21)
    deep = Chain(depth=app.config["ENGINE_CHAIN_DEPTH"] + 1)
    move(task(opp), "completed", chain=deep)
    (stopped,) = trigger_runs()
    assert (stopped.status, stopped.error) == ("failed", "chain_depth") and status_of(opp, s21) is None
    assert "deeper than allowed" in stopped.error_text


def test_a_triggers_run_shows_on_the_timeline_and_is_not_retried(client, make, flow):
    from services.runs import retry_run

    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, name="Progetto pronto")
    trigger(s11, allow_back=True)  # 1.1 is open: skipped
    manager = make.user("manager")
    move(task(opp), "completed", manager)
    client.login(manager)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert page.count("Trigger: task status") == 2 and "The substate was already open." in page
    failed = trigger_runs()[0]
    failed.status, failed.error = "failed", "chain_depth"
    db.session.commit()
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert "deeper than allowed" in page and f"/runs/{failed.id}/retry" not in page
    with pytest.raises(ServiceError) as refused:
        retry_run(failed, manager)
    assert refused.value.status == 409


def test_deleting_a_trigger_or_its_substate_keeps_the_runs(make, flow):
    from services import flow as flow_svc
    from services import triggers as svc

    t, opp, (s11, s12, s21, s22) = flow
    close_substate(opp, s11.id, None)
    open_substate(opp, s21.id, None)
    db.session.commit()
    first, second = trigger(s12), trigger(s12, "deferred")
    second_id = second.id
    t1 = task(opp)
    move(t1, "completed")
    move(t1, "deferred")  # both skipped "moving_back": 1.2 itself was never opened
    svc.delete_trigger(first)
    db.session.commit()
    flow_svc.delete_substate(s12)  # its other trigger goes with it
    db.session.commit()
    assert [(r.reason, r.trigger_id) for r in trigger_runs()] == [("moving_back", None)] * 2
    assert db.session.scalar(select(func.count()).select_from(Trigger)) == 0
    assert db.session.get(Trigger, second_id) is None


def test_a_substate_a_trigger_names_cannot_be_deleted(make, flow):
    from services import flow as flow_svc

    t, opp, (s11, s12, s21, s22) = flow
    trigger(s21, created_in_substate_id=s22.id)
    with pytest.raises(ServiceError) as refused:
        flow_svc.delete_substate(s22)
    assert refused.value.status == 409 and "trigger" in refused.value.message
