"""Durability and failure handling, done for real (SPEC E5, E6, E8): kill -9 a worker mid-run, flush
Redis with runs queued and scheduled, transient and permanent errors, chains that loop or run deep."""

import time

from redis import Redis
from sqlalchemy import func, select

from extensions import db
from models import SubstateEvent
from services.substates import open_substate
from tests.engine_support import add_action, runs, status_of, wait_for


def _open_events(substate) -> int:
    return db.session.scalar(select(func.count()).select_from(SubstateEvent)
                             .where(SubstateEvent.substate_id == substate.id, SubstateEvent.event == "opened"))


def _slow_opening(make, workers, kind: str):
    """S1 opens S2 through a slow action of `kind`; S1 opened with one worker running. (opp, S2, the worker)."""
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", kind, substate_id=s2.id, seconds=1.5)
    opp = make.opportunity(flow)
    (victim,) = workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    return opp, s2, victim


def test_worker_killed_mid_run_the_run_still_completes_once(make, workers):
    opp, s2, victim = _slow_opening(make, workers, "slow_open")
    wait_for(lambda: runs()[0].status == "running", message="run claimed")
    workers.kill9(victim)  # dies holding the run: no outcome recorded, no effect committed
    assert status_of(opp, s2) is None and runs()[0].status == "running"
    workers.start(1)  # its sweeper sees the lease run out and enqueues the run again
    wait_for(lambda: status_of(opp, s2) == "open", timeout=20, message="run re-executed after lease expiry")
    (run,) = runs()
    assert run.status == "succeeded" and run.attempts == 2
    assert _open_events(s2) == 1


def test_worker_killed_mid_run_of_a_one_transaction_kind_leaves_nothing_and_the_run_completes_once(make, workers):
    """A database-only kind is claimed, run and recorded in one transaction: a worker killed midway leaves the
    run waiting, its claim and effect undone, and once its job has been started longer than the lease the
    sweeper hands it out again."""
    opp, s2, victim = _slow_opening(make, workers, "slow_open_db")
    redis = Redis.from_url(workers.app.config["REDIS_URL"])
    job_key = f"rq:job:{runs()[0].job_id}"
    wait_for(lambda: redis.hget(job_key, "status") == b"started", message="job started")
    workers.kill9(victim)
    run = runs()[0]
    assert status_of(opp, s2) is None and run.status == "pending" and run.attempts == 0
    workers.start(1)
    wait_for(lambda: status_of(opp, s2) == "open", timeout=20, message="run re-executed after the lease")
    (run,) = runs()
    assert run.status == "succeeded" and run.attempts == 1
    assert _open_events(s2) == 1


def test_redis_flushed_with_runs_queued_and_scheduled_every_run_completes_once(make, workers, engine_app):
    flow = make.flow((4,))
    s1, s2, s3, s4 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    add_action(s1, "scheduled", "open_substate", substate_id=s3.id, delay=(2, "seconds"))
    opps = [make.opportunity(flow) for _ in range(5)]
    for opp in opps:  # queued in Redis while no worker runs
        open_substate(opp, s1.id, None)
    db.session.commit()
    redis = Redis.from_url(engine_app.config["REDIS_URL"])
    assert redis.llen(f"rq:queue:{engine_app.config['RQ_QUEUE']}") == 5
    redis.flushdb()  # Redis loses every key: queue, jobs, everything
    workers.start(2)
    wait_for(lambda: all(status_of(o, s2) == "open" and status_of(o, s3) == "open" for o in opps),
             timeout=25, message="every run completed after the flush")
    done = runs()
    assert len(done) == 10 and {r.status for r in done} == {"succeeded"}
    assert _open_events(s2) == 5 and _open_events(s3) == 5


def test_transient_errors_retry_with_backoff_then_succeed(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "flaky_open", substate_id=s2.id, succeed_at=3)
    opp = make.opportunity(flow)
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: status_of(opp, s2) == "open", timeout=20, message="third attempt succeeded")
    (run,) = runs()
    assert run.status == "succeeded" and run.attempts == 3


def test_transient_errors_stop_after_max_attempts_with_the_error_kept(make, workers):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    add_action(s1, "on_open", "flaky_open", substate_id=s2.id, succeed_at=0)
    opp = make.opportunity(flow)
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: runs()[0].status == "failed", timeout=20, message="run failed for good")
    (run,) = runs()
    assert run.attempts == 3 and "SMTP server not reachable (attempt 3)" in run.error
    assert status_of(opp, s2) is None


def test_permanent_error_fails_at_once(make, workers):
    flow, other = make.flow((2,)), make.flow((1,))
    s1, _ = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=other.substates[0].id)  # not of this type
    opp = make.opportunity(flow)
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: runs()[0].is_final, message="run final")
    (run,) = runs()
    assert run.status == "failed" and run.attempts == 1 and "does not belong" in run.error


def test_a_loop_is_stopped_by_the_chain_guard(make, workers):
    """S1 opens S2, S2 closes S1, S1's close opens S3, S3 closes S2, S2's close opens S1 again..."""
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    add_action(s2, "on_open", "close_substate", substate_id=s1.id)
    add_action(s1, "on_close", "open_substate", substate_id=s3.id)
    add_action(s3, "on_open", "close_substate", substate_id=s2.id)
    add_action(s2, "on_close", "open_substate", substate_id=s1.id)
    opp = make.opportunity(flow)
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: any(r.reason == "chain_guard" for r in runs()), timeout=20, message="loop guard")
    time.sleep(1.0)
    done = runs()
    assert all(r.is_final for r in done)
    assert len(done) == 6 and sum(r.reason == "chain_guard" for r in done) == 1


def test_chain_depth_limit_stops_with_a_recorded_error(make, workers, engine_app):
    engine_app.config["ENGINE_CHAIN_DEPTH"] = 2
    flow = make.flow((6,))
    subs = flow.substates
    for here, nxt in zip(subs, subs[1:], strict=False):
        add_action(here, "on_open", "open_substate", substate_id=nxt.id)
    opp = make.opportunity(flow)
    workers.start(1, ENGINE_CHAIN_DEPTH=2)
    open_substate(opp, subs[0].id, None)
    db.session.commit()
    wait_for(lambda: any(r.error == "chain_depth" for r in runs()), timeout=20, message="depth limit")
    done = runs()
    assert [r.chain_depth for r in done] == [0, 1, 2, 3]
    assert done[-1].status == "failed" and "deeper than allowed" in done[-1].error_text
    assert status_of(opp, subs[3]) == "open" and status_of(opp, subs[4]) is None
