"""The engine with real Redis and real RQ worker processes (SPEC E1–E8): from a click to the effect."""

import time

from sqlalchemy import func, select

from extensions import db
from models import SubstateEvent
from models.base import utcnow
from tests.engine_support import add_action, runs, status_of, wait_for


def _all_final(count=None):
    def check():
        current = runs()
        done = [r for r in current if r.is_final]
        return current and len(done) == len(current) and (count is None or len(current) == count)
    return check


def test_click_to_effect_through_a_worker(client, make, workers):
    """Closing S1 in the UI runs its on-close action in a worker: S2 opens, recorded on a run."""
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    add_action(s1, "on_close", "open_substate", substate_id=s2.id)
    add_action(s2, "on_open", "open_substate", substate_id=s3.id)
    opp = make.opportunity(flow)
    user = make.user("manager")
    workers.start(1)
    client.login(user)
    client.htmx("POST", f"/opportunities/{opp.id}/substates/{s1.id}/open")
    client.htmx("POST", f"/opportunities/{opp.id}/substates/{s1.id}/close")
    wait_for(lambda: status_of(opp, s3) == "open", message="S3 opened by the chain")
    assert status_of(opp, s2) == "open"
    done = runs()
    assert [(r.trigger, r.status, r.chain_depth) for r in done] == [("on_close", "succeeded", 0),
                                                                     ("on_open", "succeeded", 1)]
    assert done[0].chain_id == done[1].chain_id and done[1].parent_run_id == done[0].id
    assert done[0].user_id == user.id and done[0].attempts == 1


def test_runs_are_created_in_the_same_transaction_as_the_event(client, make):
    """No worker running: the click still leaves the runs recorded, waiting (the database is the truth)."""
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    add_action(s1, "scheduled", "open_substate", substate_id=s2.id, delay=(4, "days"))
    opp = make.opportunity(flow)
    client.login(make.user("manager"))
    client.htmx("POST", f"/opportunities/{opp.id}/substates/{s1.id}/open")
    pending, scheduled = runs()
    assert (pending.status, scheduled.status) == ("pending", "scheduled")
    opened_at = db.session.execute(select(SubstateEvent.at)).scalar_one()
    assert (scheduled.due_at - opened_at).total_seconds() == 4 * 86400


def test_actions_run_in_the_configured_order(make, workers):
    flow = make.flow((4,))
    s1, s2, s3, s4 = flow.substates
    add_action(s1, "on_open", "slow_open", substate_id=s2.id, seconds=0.3)
    add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    add_action(s1, "on_open", "close_substate", substate_id=s2.id)
    opp = make.opportunity(flow)
    workers.start(2)
    from services.substates import open_substate

    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(_all_final(3), message="three runs done")
    done = runs()
    assert [r.status for r in done] == ["succeeded"] * 3
    assert done[0].finished_at <= done[1].started_at and done[1].finished_at <= done[2].started_at
    assert status_of(opp, s2) == "closed" and status_of(opp, s3) == "open"


def test_channel_filter_skips_with_reason(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    web, phone = make.channel("Web"), make.channel("Phone")
    add_action(s1, "on_open", "open_substate", channels=[web], substate_id=s2.id)
    opp = make.opportunity(flow, channel=phone)
    from services.substates import open_substate

    open_substate(opp, s1.id, None)
    db.session.commit()
    (run,) = runs()
    assert run.status == "skipped" and run.reason == "channel" and "channel" in run.reason_text
    assert status_of(opp, s2) is None


def test_scheduled_run_is_due_after_its_delay_and_starts_on_time(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "scheduled", "open_substate", substate_id=s2.id, delay=(2, "seconds"))
    opp = make.opportunity(flow)
    workers.start(1)
    from services.substates import open_substate

    open_substate(opp, s1.id, None)
    db.session.commit()
    time.sleep(1.0)
    early = status_of(opp, s2)
    answered_at = utcnow()  # a busy machine may answer after the due time: only an earlier answer counts
    wait_for(lambda: status_of(opp, s2) == "open", timeout=10, message="scheduled open")
    (run,) = runs()
    if answered_at < run.due_at:
        assert early is None  # not before it is due
    opened_at = db.session.execute(select(SubstateEvent.at).where(SubstateEvent.substate_id == s2.id)).scalar_one()
    lateness = (run.started_at - run.due_at).total_seconds()
    assert run.status == "succeeded" and 0 <= lateness < 2.0 and opened_at >= run.due_at, lateness


def test_closing_before_due_cancels_and_reopening_schedules_anew(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "scheduled", "open_substate", substate_id=s2.id, delay=(2, "seconds"))
    opp = make.opportunity(flow)
    workers.start(1)
    from services.substates import close_substate, open_substate

    open_substate(opp, s1.id, None)
    db.session.commit()
    close_substate(opp, s1.id, None)
    db.session.commit()
    (cancelled,) = runs()
    assert cancelled.status == "cancelled" and "closed before" in cancelled.reason_text
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: status_of(opp, s2) == "open", timeout=10, message="rescheduled run")
    assert [r.status for r in runs()] == ["cancelled", "succeeded"]


def test_second_delivery_of_the_same_run_does_nothing(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    opp = make.opportunity(flow)
    from engine import dispatch
    from services.substates import open_substate

    open_substate(opp, s1.id, None)
    db.session.commit()
    (run,) = runs()
    for _ in range(3):  # the same job delivered again, as after a Redis failover
        dispatch.push([(run.id, f"dup-{_}")])
    workers.start(2)
    wait_for(_all_final(1), message="run done")
    time.sleep(1.0)  # let the duplicates be consumed
    (run,) = runs()
    assert run.status == "succeeded" and run.attempts == 1
    opened_s2 = db.session.scalar(select(func.count()).select_from(SubstateEvent)
                                  .where(SubstateEvent.substate_id == s2.id))
    assert opened_s2 == 1
