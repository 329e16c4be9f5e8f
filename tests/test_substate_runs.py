"""Open/close substate runs executed as a worker executes them (engine.executor.execute, in process): what the
run reads with its claim (the substate, its state's type, the opportunity's record, whether it has actions) decides
the outcome exactly as the service's own lookup does, and costs no statement of its own."""

from types import SimpleNamespace

from engine.executor import execute
from extensions import db
from services.substates import close_substate, open_substate
from tests.engine_support import add_action, runs, statements_sent, status_of, taken_while_the_kind_runs


def _run_of(action):
    (run,) = runs(action_id=action.id)
    return run


def _ids(*records):
    """Stand-ins holding the ids only: the job's fresh session detaches the test's objects."""
    return [SimpleNamespace(id=r.id) for r in records]


def _execute(run, kind: str) -> list[str]:
    """Execute the run as a job does, in a fresh session; the first word of every statement it sent."""
    db.session.remove()
    with statements_sent(db.engine) as statements:
        assert execute(run.id, kind) == "done"
    return statements


def _opening(make):
    """A flow whose first substate opens the second; an opportunity whose first is open, its run waiting.
    Returns stand-ins for the opportunity, the second substate and the action."""
    flow = make.flow((3,))
    s1, s2, _s3 = flow.substates
    opening = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    opp = make.opportunity(flow)
    open_substate(opp, s1.id, None)
    db.session.commit()
    return _ids(opp, s2, opening)


def test_an_open_substate_run_opens_it_without_reading_it_apart(make, engine_app):
    opp, s2, opening = _opening(make)
    statements = _execute(_run_of(opening), "open_substate")
    assert status_of(opp, s2) == "open" and _run_of(opening).status == "succeeded"
    if db.engine.dialect.name == "postgresql":
        # The run with the substate, its type and record; the outcome with the record and its timeline event.
        assert statements == ["SELECT", "WITH"], statements
    else:
        assert statements == ["SELECT", "INSERT", "INSERT", "UPDATE"], statements


def test_the_opened_substate_s_own_actions_follow(make, engine_app):
    """A substate with actions is read with them: the opening creates their runs in the same chain."""
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    opening = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    following = add_action(s2, "on_open", "open_substate", substate_id=s3.id)
    add_action(s2, "on_open", "close_substate", substate_id=s1.id)
    opp = make.opportunity(flow)
    open_substate(opp, s1.id, None)
    db.session.commit()
    opening, following = _ids(opening, following)
    _execute(_run_of(opening), "open_substate")
    then = _run_of(following)
    assert then.status == "pending" and then.chain_depth == 1 and then.parent_run_id == _run_of(opening).id
    assert len(runs()) == 3


def test_opening_an_open_substate_is_skipped_and_reopening_a_closed_one_opens_it(make, engine_app):
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    opening = add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    reopening = add_action(s1, "on_open", "open_substate", substate_id=s3.id)
    opp = make.opportunity(flow)
    open_substate(opp, s2.id, None)
    open_substate(opp, s3.id, None)
    close_substate(opp, s3.id, None)
    open_substate(opp, s1.id, None)
    db.session.commit()
    opp, s3, opening, reopening = _ids(opp, s3, opening, reopening)
    _execute(_run_of(opening), "open_substate")
    _execute(_run_of(reopening), "open_substate")
    skipped, reopened = _run_of(opening), _run_of(reopening)
    assert (skipped.status, skipped.reason) == ("skipped", "already_open")
    assert reopened.status == "succeeded" and status_of(opp, s3) == "open"


def test_closing_needs_it_open(make, engine_app):
    flow = make.flow((3,))
    s1, s2, s3 = flow.substates
    closing = add_action(s1, "on_open", "close_substate", substate_id=s2.id)
    closing_pending = add_action(s1, "on_open", "close_substate", substate_id=s3.id)
    opp = make.opportunity(flow)
    open_substate(opp, s2.id, None)
    open_substate(opp, s1.id, None)
    db.session.commit()
    opp, s2, s3, closing, closing_pending = _ids(opp, s2, s3, closing, closing_pending)
    _execute(_run_of(closing), "close_substate")
    _execute(_run_of(closing_pending), "close_substate")
    assert _run_of(closing).status == "succeeded" and status_of(opp, s2) == "closed"
    skipped = _run_of(closing_pending)
    assert (skipped.status, skipped.reason) == ("skipped", "not_open")
    assert status_of(opp, s3) is None


def test_a_substate_of_another_flow_fails_the_run(make, engine_app):
    flow, other = make.flow((2,)), make.flow((1,))
    s1, _s2 = flow.substates
    (elsewhere,) = other.substates
    wrong = add_action(s1, "on_open", "open_substate", substate_id=elsewhere.id)
    gone = add_action(s1, "on_open", "open_substate", substate_id=10**9)
    opp = make.opportunity(flow)
    open_substate(opp, s1.id, None)
    db.session.commit()
    opp, elsewhere, wrong, gone = _ids(opp, elsewhere, wrong, gone)
    _execute(_run_of(wrong), "open_substate")
    _execute(_run_of(gone), "open_substate")
    for action in (wrong, gone):
        run = _run_of(action)
        assert run.status == "failed" and "does not belong" in run.error, (run.status, run.error)
    assert status_of(opp, elsewhere) is None



def test_an_opening_whose_run_another_worker_took_writes_no_record_or_event(make, engine_app, monkeypatch):
    """The opening's record and timeline event go with the run's outcome, gated on it (engine.along): when the
    run became another worker's while the kind ran (the sweeper's lease), neither is written — on PostgreSQL
    although that statement is committed on its own (engine.alone)."""
    from sqlalchemy import select

    from models import SubstateEvent

    opp, s2, opening = _opening(make)
    run_id = _run_of(opening).id
    taken_while_the_kind_runs(monkeypatch, "open_substate", run_id)
    db.session.remove()
    assert execute(run_id, "open_substate") == "lost lease"
    assert status_of(opp, s2) is None
    assert db.session.execute(select(SubstateEvent).where(SubstateEvent.opportunity_id == opp.id,
                                                          SubstateEvent.substate_id == s2.id)).all() == []
    assert _run_of(opening).claimed_by == "other worker"
