"""Engine pieces without workers: retry service, working hours, enqueue only after commit."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from redis import Redis

from engine.calendar import next_working_moment
from extensions import db
from models import User
from services import ServiceError
from services.runs import retry_run
from services.substates import open_substate
from tests.engine_support import add_action, runs, status_of, wait_for


def _utc(local: datetime, tz="Europe/Rome") -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@pytest.mark.parametrize("local_due,expected_local", [
    (datetime(2026, 11, 23, 10, 0), datetime(2026, 11, 23, 10, 0)),   # Monday 10:00: inside
    (datetime(2026, 11, 23, 7, 30), datetime(2026, 11, 23, 9, 0)),    # before opening: same day 9:00
    (datetime(2026, 11, 23, 18, 0), datetime(2026, 11, 24, 9, 0)),    # at closing: next day
    (datetime(2026, 11, 27, 19, 0), datetime(2026, 11, 30, 9, 0)),    # Friday evening: Monday
    (datetime(2026, 11, 28, 12, 0), datetime(2026, 11, 30, 9, 0)),    # Saturday: Monday
])
def test_working_hours_move_a_due_time_to_the_next_working_moment(app, local_due, expected_local):
    user = User(timezone="Europe/Rome", work_start=time(9), work_end=time(18), work_days="12345")
    assert next_working_moment(_utc(local_due), user) == _utc(expected_local)


def test_without_a_responsible_user_the_due_time_stands():
    due = datetime(2026, 11, 28, 12, 0)
    assert next_working_moment(due, None) == due


def test_scheduled_run_respecting_working_hours_waits_for_the_owner(make, engine_app):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    action = add_action(s1, "scheduled", "open_substate", substate_id=s2.id, delay=(1, "minutes"))
    action.respect_working_hours = True
    owner = make.user("agent", work_days="", timezone="Europe/Rome")
    owner.work_days = "6"  # Saturdays only
    opp = make.opportunity(flow, owner=owner)
    db.session.commit()
    open_substate(opp, s1.id, None)
    db.session.commit()
    (run,) = runs()
    local = run.due_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Rome"))
    assert local.isoweekday() == 6 and local.time() >= time(9)


def test_runs_are_enqueued_only_when_the_transaction_commits(make, engine_app):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    opp = make.opportunity(flow)
    redis = Redis.from_url(engine_app.config["REDIS_URL"])
    key = f"rq:queue:{engine_app.config['RQ_QUEUE']}"
    open_substate(opp, s1.id, None)
    db.session.rollback()
    assert redis.llen(key) == 0 and runs() == []
    open_substate(opp, s1.id, None)
    assert redis.llen(key) == 0  # flushed, not committed: nothing sent yet
    db.session.commit()
    assert redis.llen(key) == 1


def test_retry_creates_a_new_attempt_that_runs(make, workers):
    flow, other = make.flow((2,)), make.flow((1,))
    s1, s2 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=other.substates[0].id)
    opp = make.opportunity(flow)
    manager = make.user("manager")
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: runs()[0].status == "failed", message="first run failed")
    action.config = {"substate_id": s2.id}  # someone corrects the action, then retries the run
    db.session.commit()
    failed = runs()[0]
    retry = retry_run(failed, manager)
    db.session.commit()
    wait_for(lambda: status_of(opp, s2) == "open", message="retry succeeded")
    first, second = runs()
    assert first.status == "failed" and second.status == "succeeded"
    assert second.trigger == "retry" and second.parent_run_id == first.id and second.user_id == manager.id
    assert retry.id == second.id and first.config == {"substate_id": other.substates[0].id}
    with pytest.raises(ServiceError):
        retry_run(second, manager)  # only failed runs


def test_a_run_of_a_kind_this_code_does_not_know_fails_saying_so(make, engine_app):
    """E.g. a job left in the queue by an older release, for a kind since removed: the run fails with a
    message, whether or not its job names the kind, rather than staying pending or crashing the worker."""
    from engine.executor import execute
    from models import ActionRun

    flow = make.flow((1,))
    opp = make.opportunity(flow)
    made = [ActionRun(opportunity_id=opp.id, kind="no_such_kind", trigger="on_open", chain_id="c1") for _ in range(2)]
    db.session.add_all(made)
    db.session.commit()
    assert execute(made[0].id) == "done" and execute(made[1].id, "no_such_kind") == "done"
    for run in runs(kind="no_such_kind"):
        assert (run.status, run.attempts) == ("failed", 1)
        assert "cannot run yet: no_such_kind" in run.error
