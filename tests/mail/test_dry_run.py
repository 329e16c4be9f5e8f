"""D11 Dry run: the tree of what a substate change would set off, with no side effect at all (every
table, the Redis keys, the files and the SMTP server compared before and after), and equal to what the
real engine then does."""

from sqlalchemy import select

from engine import dispatch
from engine.executor import execute
from extensions import db
from models import ActionRun, OutgoingEmail
from models.base import utcnow
from models.runs import FINAL_STATUSES
from services import dry_run
from services.substates import open_substate
from tests import dry_run_support as support
from tests.mail import support as mail_support


def _world(make, smtp_server):
    server = smtp_server()
    cred = mail_support.credentials(server)
    tmpl = mail_support.template()
    return server, support.world(make, cred, tmpl)


def test_dry_run_changes_nothing(mail_app, make, smtp_server):
    server, w = _world(make, smtp_server)
    before = support.snapshot(mail_app)
    result = dry_run.simulate(w["flow"], w["a"], "open", w["owner"], w["opp"])
    assert support.snapshot(mail_app) == before
    assert server.messages == []
    lines = support.flatten(result.steps)
    kinds = [(d, k, s) for d, k, s, _st, _r in lines]
    assert kinds[0][1] == "Add history entry" and lines[0][3] == "skipped"  # the disabled one, first
    statuses = {(k, s, st) for _d, k, s, st, _r in lines}
    assert ("Assign installer", "Substate 1.1", "succeeded") in statuses
    assert ("Add history entry", "Substate 1.1", "skipped") in statuses  # channel
    assert ("Add history entry", "Substate 1.1", "scheduled") in statuses
    # chained: B opened -> B's email and C opened -> C closes B -> B's on-close entry
    assert ("Send email", "Substate 1.2", "succeeded") in statuses
    assert ("Close substate", "Substate 2.1", "succeeded") in statuses
    assert ("Add history entry", "Substate 1.2", "succeeded") in statuses
    deepest = max(d for d, *_ in lines)
    assert deepest >= 3
    emails = [e for step in _walk(result.steps) for e in step.emails]
    got = {(e.to, e.language, e.subject) for e in emails}
    assert ("mario.rossi@example.it", "it", "Documentazione in sospeso: Impianto Rossi") in got
    assert ("lucia@oppflow.example", "es", "Documentación pendiente: Impianto Rossi") in got
    assert ("info@solarenord.example", "en", "Documents pending: Impianto Rossi") in got
    assign = next(s for s in _walk(result.steps) if s.kind == "Assign installer")
    assert any("Solare Nord" in d and "criterion" in d for d in assign.details)
    scheduled = next(s for s in _walk(result.steps) if s.status == "scheduled")
    assert scheduled.when is not None and scheduled.when > utcnow()
    export = next(s for s in _walk(result.steps) if s.kind == "Export")
    assert export.files == [f"Rossi-data-{w['opp'].id}.csv"] and export.emails[0].to == "lucia@oppflow.example"
    # The comparison can fail: the real change puts a run on the queue and writes rows.
    open_substate(w["opp"], w["a"].id, None)
    db.session.commit()
    after = support.snapshot(mail_app)
    assert after["redis"] != before["redis"] and after["tables"] != before["tables"]


def test_dry_run_equals_the_real_run(mail_app, make, smtp_server):
    server, w = _world(make, smtp_server)
    result = dry_run.simulate(w["flow"], w["a"], "open", w["owner"], w["opp"])
    simulated = [line for line in support.flatten(result.steps) if line[4] != "The action is disabled."]
    simulated_mail = sorted((e.to, e.subject) for s in _walk(result.steps) for e in s.emails)

    with dispatch.held():  # the real run, executed here by the engine's own executor, in order
        open_substate(w["opp"], w["a"].id, None, on_behalf_of_id=w["owner"].id)
        db.session.commit()
        _run_all()
    runs = db.session.execute(select(ActionRun).order_by(ActionRun.id)).scalars().all()
    real = support.flatten(_real_tree(runs))
    assert [line[1:] for line in simulated] == [line[1:] for line in real]
    assert [line[0] for line in simulated] == [line[0] for line in real]
    sent = sorted((r.recipient, r.subject) for r in db.session.execute(select(OutgoingEmail)).scalars())
    assert sent == simulated_mail
    assert sorted((m["To"].addresses[0].addr_spec, m["Subject"]) for m in server.wait_for(len(sent))) == sent


def _run_all():
    for _i in range(100):
        db.session.expire_all()
        ready = db.session.execute(select(ActionRun).where(dispatch.ready_clause(utcnow()))
                                   .order_by(ActionRun.id)).scalars().first()
        if ready is None:
            return
        execute(ready.id)


def _real_tree(runs):
    """The real runs in the same tree shape the dry run shows (the disabled actions have no run)."""
    assert all(r.status in FINAL_STATUSES or r.status == "scheduled" for r in runs)
    return dry_run.tree_of(runs)


def _walk(steps):
    for step in steps:
        yield step
        yield from _walk(step.children)


def test_a_commit_during_a_dry_run_is_refused(app, make):
    import pytest

    from engine import dry_run as engine_dry_run

    make.channel()
    with pytest.raises(engine_dry_run.CommitInDryRun), engine_dry_run.simulating():
        make.channel()  # the factory commits
    db.session.rollback()
    from models import Channel

    assert len(db.session.execute(select(Channel)).scalars().all()) == 1


def test_tree_follows_the_configured_order(mail_app, make, smtp_server):
    _server, w = _world(make, smtp_server)
    result = dry_run.simulate(w["flow"], w["a"], "open", w["owner"], w["opp"])
    top = [(s.kind, s.status) for s in result.steps]
    assert top == [("Add history entry", "skipped"), ("Assign installer", "succeeded"), ("Send email", "succeeded"),
                   ("Open substate", "succeeded"), ("Add history entry", "skipped"),
                   ("Add history entry", "scheduled")]
    assert result.counts == {"succeeded": 8, "skipped": 1, "scheduled": 1}
