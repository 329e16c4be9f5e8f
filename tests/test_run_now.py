"""Run now (SPEC E11): an action, or a substate's on-open actions, on one opportunity from its page or on every
opportunity of the filtered list as long work, through the engine with real workers."""

from sqlalchemy import select

from extensions import db
from models.progress import LongJob
from tests.engine_support import add_action, runs, status_of, wait_for


def _job():
    db.session.expire_all()
    return db.session.execute(select(LongJob)).scalar_one()


def test_run_now_on_one_opportunity_runs_through_a_worker_and_names_who(client, make, workers):
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    opp = make.opportunity(flow)
    manager = make.user("manager", name="Mara Manager")
    workers.start(1)
    client.login(manager)
    page = client.htmx("GET", f"/opportunities/{opp.id}/actions")
    assert page.status_code == 200 and f'value="action:{action.id}"' in page.text
    assert "The substate has not been opened on this opportunity." in page.text
    answer = client.htmx("POST", f"/opportunities/{opp.id}/actions/run-now", data={"target": f"action:{action.id}"})
    assert answer.status_code == 200 and "1 run started." in answer.text
    wait_for(lambda: status_of(opp, s2) == "open", message="S2 opened by the run")
    (run,) = runs()
    assert (run.trigger, run.status, run.user_id, run.action_id) == ("manual", "succeeded", manager.id, action.id)
    panel = client.htmx("GET", f"/opportunities/{opp.id}/actions")
    assert "run now by Mara Manager" in panel.text


def test_a_substates_on_open_actions_run_in_their_order(client, make):
    flow = make.flow((4,))
    s1, s2, s3, s4 = flow.substates
    first = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    second = add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    add_action(s1, "scheduled", "open_substate", substate_id=s4.id, delay=(1, "days"))  # not an on-open action
    opp = make.opportunity(flow)
    client.login(make.user("manager"))
    client.htmx("POST", f"/opportunities/{opp.id}/actions/run-now", data={"target": f"substate:{s1.id}"})
    made = runs()
    assert [r.action_id for r in made] == [first.id, second.id]
    assert made[1].after_run_id == made[0].id and all(r.status == "pending" for r in made)


def test_run_now_on_one_is_for_managers_and_refuses_an_action_of_another_channel(client, make):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    web, phone = make.channel("Web"), make.channel("Phone")
    action = add_action(s1, "on_open", "open_substate", channels=[web], substate_id=s2.id)
    opp = make.opportunity(flow, channel=phone)
    client.login(make.user("agent"))
    assert client.htmx("POST", f"/opportunities/{opp.id}/actions/run-now",
                       data={"target": f"action:{action.id}"}).status_code == 403
    client.post("/logout")
    client.login(make.user("manager"))
    answer = client.htmx("POST", f"/opportunities/{opp.id}/actions/run-now", data={"target": f"action:{action.id}"})
    assert answer.status_code == 409 and "channel" in answer.text and runs() == []
    other = make.opportunity(make.flow((1,)))
    answer = client.htmx("POST", f"/opportunities/{other.id}/actions/run-now", data={"target": f"action:{action.id}"})
    assert answer.status_code == 409 and runs() == []
    assert client.htmx("POST", f"/opportunities/{opp.id}/actions/run-now",
                       data={"target": "action:x"}).status_code == 422


def test_partners_cannot_reach_run_now_or_the_panel(client, make):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    partner = make.partner()
    opp = make.opportunity(flow, installer=partner.company)
    client.login(partner)
    assert client.get(f"/opportunities/{opp.id}/actions").status_code == 404
    assert client.post(f"/opportunities/{opp.id}/actions/run-now",
                       data={"target": f"action:{action.id}"}).status_code == 404
    assert client.get("/opportunities/run-now").status_code == 404
    assert client.post("/opportunities/run-now", data={"target": f"action:{action.id}"}).status_code == 404
    assert runs() == []


def test_run_now_on_a_filtered_list_respects_scoping_and_channels(client, make, workers, monkeypatch):
    """Confirmation names how many; the long job runs the action only on the list's opportunities of the
    action's channels; the bar reaches 100 % and says what was done."""
    from services import run_now

    monkeypatch.setattr(run_now, "BATCH", 2)  # several slices in the worker too? the worker has its own BATCH
    flow, other_flow = make.flow((2,)), make.flow((2,))
    s1, s2 = flow.substates
    web, phone = make.channel("Web"), make.channel("Phone")
    action = add_action(s1, "on_open", "open_substate", channels=[web], substate_id=s2.id)
    on_web = [make.opportunity(flow, channel=web, name=f"Solar {i}") for i in range(5)]
    on_phone = make.opportunity(flow, channel=phone, name="Solar phone")
    outside = make.opportunity(flow, channel=web, name="Wind farm")  # not matched by the search
    make.opportunity(other_flow, channel=web, name="Solar other type")  # another flow: the action is not its
    workers.start(1)
    client.login(make.user("manager"))
    form = client.get("/opportunities/run-now?q=Solar")
    assert form.status_code == 200 and f'value="action:{action.id}"' in form.text
    confirm = client.post("/opportunities/run-now?q=Solar", data={"target": f"action:{action.id}"})
    assert confirm.status_code == 200 and "on 6 opportunities" in confirm.text  # 5 web + 1 phone of its type
    assert runs() == [] and db.session.execute(select(LongJob)).first() is None
    started = client.post("/opportunities/run-now?q=Solar", data={"target": f"action:{action.id}", "confirm": "1"})
    assert started.status_code == 302 and "/work/" in started.headers["Location"]
    wait_for(lambda: _job().status == "done", timeout=30, message="the long job to finish")
    wait_for(lambda: all(status_of(o, s2) == "open" for o in on_web), timeout=30, message="runs to succeed")
    made = runs()
    assert sorted(r.opportunity_id for r in made) == sorted(o.id for o in on_web)  # none for phone, none outside
    assert all(r.trigger == "manual" for r in made)
    assert status_of(on_phone, s2) is None and status_of(outside, s2) is None
    job = _job()
    assert job.done == job.total == 6 and job.result == {"runs": 5, "opportunities": 5, "not_for_channel": 1}
    bar = client.get(started.headers["Location"])
    assert bar.status_code == 200 and "5 runs created" in bar.text


def test_the_list_job_pages_by_id_and_counts_only_visible_opportunities(app, make, monkeypatch):
    """Without a worker: slices of BATCH resume after the cursor; a partner's job (were one started)
    would see only the partner's opportunities, as the list does."""
    from werkzeug.datastructures import MultiDict

    from services import progress, run_now

    monkeypatch.setattr(run_now, "BATCH", 2)
    monkeypatch.setattr(progress, "SLICE_SECONDS", 0)
    flow = make.flow((2,))
    s1, s2 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    opps = [make.opportunity(flow) for _ in range(5)]
    manager = make.user("manager")
    target = run_now.target_of(f"action:{action.id}")
    job = run_now.start_on_list(MultiDict(), target, manager)
    db.session.commit()
    outcomes = [progress.run(job.id) for _ in range(3)]
    assert outcomes == ["continued", "continued", "done"]
    assert sorted(r.opportunity_id for r in runs()) == [o.id for o in opps]
    partner = make.partner()
    mine = make.opportunity(flow, installer=partner.company)
    assert run_now.count(MultiDict(), target, partner) == 1 and mine.id
