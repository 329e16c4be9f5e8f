"""The failure inbox (SPEC E10): groups by action and error, scoped like the action history; bulk retry of a
filtered set through real workers, each run at most once even when two bulk retries overlap; an action that
fails N times in a row pauses itself, tells the flow's managers, shows a banner until resumed."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from extensions import db
from models import Action, ActionRun, LongJob, Notification
from services import app_settings, auto_pause, bulk_retry, failure_inbox
from services.failure_inbox import Filters
from services.runs import retry_run
from services.substates import open_substate
from tests.engine_support import add_action, runs, status_of, wait_for
from tests.inbox_support import failed_runs


@pytest.fixture
def world(make):
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    other = add_action(s1, "on_open", "close_substate", substate_id=s3.id)
    company = make.company()
    theirs = [make.opportunity(flow, installer=company) for _ in range(2)]
    ours = [make.opportunity(flow) for _ in range(3)]
    return {"flow": flow, "s1": s1, "s2": s2, "action": action, "other": other, "company": company,
            "theirs": theirs, "ours": ours}


def _children(parent_ids) -> dict[int, int]:
    rows = db.session.execute(select(ActionRun.parent_run_id, func.count()).where(
        ActionRun.parent_run_id.in_(parent_ids), ActionRun.trigger == "retry").group_by(ActionRun.parent_run_id))
    return dict(rows.all())


def test_groups_merge_errors_that_differ_only_in_numbers_and_count_each_action_apart(app, client, make, world):
    failed_runs(world["action"], world["ours"], error="timeout after 30 s")
    failed_runs(world["action"], world["theirs"], error="timeout after 31 s")
    failed_runs(world["other"], world["ours"][:1], error="no_working_day", status="needs_review")
    retried = failed_runs(world["other"], world["ours"][1:2], error="gone", retried_by_id=None)
    db.session.execute(ActionRun.__table__.update().where(ActionRun.id == retried[0]).values(retried_by_id=retried[0]))
    db.session.commit()
    user = make.user("manager")
    groups = failure_inbox.groups(user, Filters())
    assert [(g["action_id"], g["error"], g["count"]) for g in groups] == [
        (world["action"].id, "timeout after # s", 5), (world["other"].id, "no_working_day", 1)]
    client.login(user)
    page = client.get("/account/failures")
    assert page.status_code == 200
    assert "timeout after # s" in page.text and "Retry these 6 runs" in page.text
    assert "The substate was closed" not in page.text  # the reason code reads as its sentence
    only = client.get(f"/account/failures?action={world['other'].id}&error=no_working_day")
    assert "Retry this run" in only.text and "No working day" in only.text


def test_partners_see_their_own_opportunities_runs_and_cannot_retry(app, client, make, world):
    failed_runs(world["action"], world["ours"], error="ours failed")
    failed_runs(world["action"], world["theirs"], error="theirs failed")
    partner = make.user("partner", company=world["company"])
    assert [g["error"] for g in failure_inbox.groups(partner, Filters())] == ["theirs failed"]
    client.login(partner)
    page = client.get("/account/failures")
    assert page.status_code == 200 and "theirs failed" in page.text and "ours failed" not in page.text
    assert "Retry these" not in page.text
    assert client.post("/account/failures/retry", data={}).status_code == 404
    assert client.post(f"/account/failures/actions/{world['action'].id}/resume").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(LongJob)) == 0


@pytest.mark.parametrize("query", ["type=abc", "type=999999", "action=-1", "action=999999", "from=31/31/2026",
                                   "from=2026-05-02&to=2026-05-01", "error=" + "x" * 300])
def test_bad_filters_answer_422_with_a_message_and_start_nothing(app, client, make, world, query):
    failed_runs(world["action"], world["ours"])
    client.login(make.user("manager"))
    page = client.get(f"/account/failures?{query}")
    assert page.status_code == 422 and 'id="inbox-errors"' in page.text
    key, _, value = query.partition("&")[0].partition("=")
    posted = client.post("/account/failures/retry", data=dict(p.split("=", 1) for p in query.split("&")))
    assert posted.status_code == 422 and 'id="inbox-errors"' in posted.text
    assert db.session.scalar(select(func.count()).select_from(LongJob)) == 0


def test_bulk_retry_needs_csrf_and_the_permission_and_something_to_retry(app, client, make, world):
    client.login(make.user("manager"))
    assert client.post("/account/failures/retry", data={}).status_code == 409  # nothing failed yet
    failed_runs(world["action"], world["ours"])
    assert client.post("/account/failures/retry", data={}, csrf=False).status_code == 400
    agent = app.test_client()
    agent.login(make.user("partner", company=world["company"]))
    assert agent.post("/account/failures/retry", data={}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(LongJob)) == 0


def test_bulk_retry_of_a_filtered_set_retries_each_run_once_through_workers(app, client, make, world, workers,
                                                                             monkeypatch):
    monkeypatch.setattr(bulk_retry, "BATCH", 2)  # several slices, every resume exercised
    wanted = failed_runs(world["action"], world["ours"] + world["theirs"], error="SMTP down 1")
    left = failed_runs(world["other"], world["ours"], error="another error")
    user = make.user("manager")
    client.login(user)
    answer = client.post("/account/failures/retry", data={"action": world["action"].id, "error": "SMTP down #"})
    assert answer.status_code == 302 and "/work/" in answer.headers["Location"]
    # A single retry of one of them in between: that run is not retried twice.
    retry_run(db.session.get(ActionRun, wanted[0]), user)
    db.session.commit()
    assert "Retry these 5 runs" not in client.get("/account/failures").text  # the page finds the bar again
    workers.start(1)
    job = db.session.execute(select(LongJob)).scalar_one()
    wait_for(lambda: db.session.get(LongJob, job.id, populate_existing=True).status == "done", timeout=30,
             message="bulk retry done")
    job = db.session.get(LongJob, job.id, populate_existing=True)
    assert job.result == {"retried": 4, "skipped": 1} and job.done == job.total == 5
    assert _children(wanted) == {run_id: 1 for run_id in wanted}
    assert _children(left) == {}
    wait_for(lambda: all(r.status == "succeeded" for r in runs(trigger="retry")), timeout=30,
             message="the retries ran")
    assert all(status_of(o, world["s2"]) == "open" for o in world["ours"] + world["theirs"])
    page = client.get(f"/work/{job.id}")
    assert "4 runs retried." in page.text and "1 was already retried by someone else." in page.text


def test_two_overlapping_bulk_retries_retry_each_run_once(app, make, world, workers, monkeypatch):
    monkeypatch.setattr(bulk_retry, "BATCH", 3)
    opps = [make.opportunity(world["flow"]) for _ in range(12)]
    ids = failed_runs(world["action"], opps)
    one, two = make.user("manager"), make.user("admin")
    first, second = bulk_retry.start(one, Filters()), bulk_retry.start(two, Filters())
    db.session.commit()
    workers.start(2)
    wait_for(lambda: {j.status for j in db.session.execute(select(LongJob).execution_options(
        populate_existing=True)).scalars()} == {"done"}, timeout=40, message="both bulk retries done")
    results = [db.session.get(LongJob, j.id).result for j in (first, second)]
    assert sum(r["retried"] for r in results) == 12 and sum(r["skipped"] for r in results) == 12
    assert _children(ids) == {run_id: 1 for run_id in ids}


def test_an_action_failing_n_times_in_a_row_pauses_itself_until_resumed(app, client, make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    broken = add_action(s1, "on_open", "open_substate", substate_id=987654)  # no such substate: fails for good
    app_settings.put(auto_pause.SETTING, "3")
    manager, agent = make.user("manager"), make.user("agent")
    db.session.commit()
    workers.start(1)
    opps = [make.opportunity(flow) for _ in range(4)]
    for opp in opps[:3]:
        open_substate(opp, s1.id, None)
        db.session.commit()
        wait_for(lambda opp=opp: [r.status for r in runs(opportunity_id=opp.id)] == ["failed"],
                 message="the run failed")
    action = db.session.get(Action, broken.id, populate_existing=True)
    assert action.paused_at is not None and action.failure_streak == 3
    notes = db.session.execute(select(Notification).where(Notification.kind == "action_paused")).scalars().all()
    assert {n.user_id for n in notes} >= {manager.id} and agent.id not in {n.user_id for n in notes}
    assert "failed 3 times in a row" in notes[0].text
    open_substate(opps[3], s1.id, None)  # paused: no run for it
    db.session.commit()
    assert runs(opportunity_id=opps[3].id) == []
    client.login(manager)
    page = client.get(f"/settings/types/{flow.id}")
    assert "paused itself after 3 failures" in page.text and "Resume" in page.text
    assert "paused itself" in client.get(f"/settings/types/{flow.id}/substates/{s1.id}").text
    resume_url = f"/account/failures/actions/{action.id}/resume"
    assert client.post(resume_url, csrf=False).status_code == 400
    viewer = app.test_client()
    viewer.login(agent)
    assert viewer.post(resume_url).status_code == 403
    client.login(manager)
    assert client.post(resume_url, data={"next": f"/settings/types/{flow.id}"}).status_code == 302
    action = db.session.get(Action, broken.id, populate_existing=True)
    assert action.paused_at is None and action.failure_streak == 0
    assert "paused itself" not in client.get(f"/settings/types/{flow.id}").text


def test_a_success_between_failures_starts_the_count_again(app, make, world):
    app_settings.put(auto_pause.SETTING, "2")
    action = world["action"]
    first = failed_runs(action, world["ours"][:1])
    assert not auto_pause.record_failure(db.session.get(ActionRun, first[0]))
    failed_runs(action, world["ours"][1:2], status="succeeded", error=None)
    second = failed_runs(action, world["ours"][2:3])
    assert not auto_pause.record_failure(db.session.get(ActionRun, second[0]))
    assert db.session.get(Action, action.id).failure_streak == 1
    third = failed_runs(action, world["theirs"][:1])
    assert auto_pause.record_failure(db.session.get(ActionRun, third[0]))
    app_settings.put(auto_pause.SETTING, "0")
    assert auto_pause.limit() == 0


def test_only_admins_set_n_and_a_bad_number_is_refused_with_422(app, client, make):
    manager = app.test_client()
    manager.login(make.user("manager"))
    assert manager.post("/account/failures/auto-pause", data={"limit": "2"}).status_code == 403
    client.login(make.user("admin"))
    assert client.post("/account/failures/auto-pause", data={"limit": "2"}, csrf=False).status_code == 400
    for bad in ("-1", "two", "1001", ""):
        answer = client.post("/account/failures/auto-pause", data={"limit": bad})
        assert answer.status_code == 422 and 'id="auto-pause-error"' in answer.text
    assert auto_pause.limit() == auto_pause.DEFAULT_LIMIT
    assert client.post("/account/failures/auto-pause", data={"limit": "2"}).status_code == 302
    assert auto_pause.limit() == 2
    g.pop("_login_user", None)  # the test's app context serves both clients: forget the admin
    assert "fails 2 times in a row" in manager.get("/account/failures").text


def test_a_bulk_retry_is_each_runs_own_retry_with_the_actions_corrected_settings(app, make, world):
    """As a single retry makes it (services.runs.retry_run): the action's settings as corrected since, a link
    both ways between the failed run and its retry, a job of its own, and who asked for it."""
    failed = failed_runs(world["action"], world["ours"], error="gone")
    world["action"].config = {**world["action"].config, "note": "corrected"}
    db.session.commit()
    admin = make.user("admin")
    assert sorted(bulk_retry.retry_many(failed, admin)) == failed
    db.session.commit()
    db.session.expire_all()
    for old_id in failed:
        old = db.session.get(ActionRun, old_id)
        new = db.session.get(ActionRun, old.retried_by_id)
        assert new.parent_run_id == old.id and new.trigger == "retry" and new.status == "pending"
        assert new.config == world["action"].config and new.user_id == admin.id and new.result == {}
        assert new.kind == old.kind and new.opportunity_id == old.opportunity_id and new.chain_id == old.chain_id
    jobs = db.session.execute(select(ActionRun.job_id).where(ActionRun.parent_run_id.in_(failed))).scalars().all()
    assert len(set(jobs)) == len(failed) and all(jobs)
    assert bulk_retry.retry_many(failed, admin) == []  # at most once
