"""The demo (`make run`): its history comes from the engine — runs of the flows' automatic actions, executed
by the engine's own code — so a fresh demo's Action history, partner scoping and timelines are populated,
and what is left waiting (or retried) is done by a real worker."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.triggers import delay_of
from extensions import db
from models import ActionRun, Activity, Assignment, Opportunity, OutgoingEmail, PartnerCompany, User
from models.base import utcnow
from models.runs import WAITING_STATUSES
from services import demo, history
from tests.engine_support import runs, wait_for
from tests.ports import closed_port

# Tabs the demo's automatic actions feed (send email, create activity, open/close substate, assign).
DEMO_TABS = ("email", "activities", "substates", "assignment")
PARTNERS = ("installer@example.com", "instalador@example.com", "commercial@example.com", "comercial@example.com")


def _user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _rows(tab: str, user: User) -> list[tuple]:
    """Every row of a history tab as the user may see it (the pages' own query)."""
    return db.session.execute(history.registry.base_query(history.TABS[tab], user)).all()


@pytest.fixture(autouse=True)
def smtp_port():
    """The demo's SMTP account points at a port this test reserved and nobody listens on (not 8025, where a
    developer may run a sink)."""
    with closed_port() as port:
        yield port


def _load(port: int) -> float:
    start = time.monotonic()
    demo.load(smtp_host="127.0.0.1", smtp_port=port)
    db.session.commit()
    return time.monotonic() - start


def test_the_demo_history_comes_from_executed_runs(engine_app, smtp_port):
    elapsed = _load(smtp_port)
    # ~10 s on SQLite on a quiet 2-core machine; the bound only catches a replay gone quadratic.
    assert elapsed < 180, f"the demo took {elapsed:.1f}s to load"
    admin = _user("admin@example.com")
    for tab in DEMO_TABS:
        assert len(_rows(tab, admin)) >= 5, f"the {tab} tab of a fresh demo is (nearly) empty"
    # Nothing was written beside the engine: every assignment and activity belongs to a run.
    assert db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.run_id.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(Activity).where(Activity.run_id.is_(None))) == 0
    statuses = {run.status for run in runs()}
    assert {"succeeded", "failed", "cancelled"} <= statuses  # and nothing left half done
    assert not statuses & {"running", "sending"}
    # The demo's SMTP account has no server: its emails failed with the server's words, after retries.
    failed = runs(kind="send_email", status="failed")
    assert failed and all("Connection refused" in run.error for run in failed)
    assert db.session.scalar(select(func.count()).select_from(OutgoingEmail)) >= len(failed)
    # Each opportunity's timeline lists its runs, newest first.
    opp = db.session.get(Opportunity, failed[0].opportunity_id)
    timeline = history.registry.timeline(opp.id)
    assert len(timeline) >= 2 and [r.id for r in timeline] == sorted((r.id for r in timeline), reverse=True)
    # The replay's moments lie in the past, in the order the runs were created; each run fell due when
    # created or after its delay, and what is still scheduled is due later than now.
    created = [run.created_at for run in runs()]
    assert created == sorted(created) and created[0] < created[-1] <= utcnow()
    assert all(run.due_at > run.created_at - timedelta(seconds=1) for run in runs())  # due: the event's time
    assert all(run.due_at > utcnow() for run in runs(status="scheduled"))
    delayed = [run for run in runs(trigger="scheduled") if run.status != "cancelled"]
    # …after its action's delay, at least (working hours may push it later).
    assert delayed and all(run.due_at - run.created_at > delay_of(run.action) - timedelta(seconds=1)
                           for run in delayed)


def _fingerprint() -> list[tuple]:
    """What ran for which opportunity, and who got it, by names (ids differ between loads)."""
    return db.session.execute(
        select(Opportunity.name, ActionRun.kind, ActionRun.status, PartnerCompany.name)
        .join(Opportunity, Opportunity.id == ActionRun.opportunity_id)
        .outerjoin(Assignment, Assignment.run_id == ActionRun.id)
        .outerjoin(PartnerCompany, PartnerCompany.id == Assignment.company_id)
        .order_by(ActionRun.id)
    ).all()


def test_the_same_seed_gives_the_same_demo(engine_app, smtp_port):
    _load(smtp_port)
    first = _fingerprint()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    _load(smtp_port)
    assert _fingerprint() == first


def test_partners_see_only_their_companys_rows(engine_app, client, smtp_port):
    _load(smtp_port)
    admin = _user("admin@example.com")
    seen_by_partners = 0
    for email in PARTNERS:
        partner = _user(email)
        own = set(db.session.execute(select(Opportunity.id).where(
            (Opportunity.installer_id == partner.company_id) | (Opportunity.commercial_id == partner.company_id)
        )).scalars())
        assert own, f"{email}'s company has no opportunity in the demo"
        for tab in DEMO_TABS:
            rows = _rows(tab, partner)
            assert {row[0].opportunity_id for row in rows} <= own, f"{email} sees another company's {tab} runs"
            assert len(rows) < len(_rows(tab, admin))
            seen_by_partners += len(rows)
    assert seen_by_partners > 0
    # The page itself, as the installer: rows, and none of another company's opportunities.
    installer = _user("installer@example.com")
    foreign = db.session.execute(select(Opportunity.name).where(
        (Opportunity.installer_id != installer.company_id) | Opportunity.installer_id.is_(None),
        (Opportunity.commercial_id != installer.company_id) | Opportunity.commercial_id.is_(None),
    )).scalars().all()
    mine = {row[1] for row in _rows("activities", installer)}
    client.login(installer, demo.DEMO_PASSWORD)
    page = client.get("/account/history/activities").get_data(as_text=True)
    assert any(name in page for name in mine)
    assert not [name for name in set(foreign) - mine if name in page]


def test_a_worker_takes_over_what_is_left_and_a_retry(engine_app, workers, client, smtp_port):
    _load(smtp_port)
    waiting = runs(status="pending") + runs(status="scheduled")
    assert all(run.enqueued_at is None for run in waiting)  # for the sweeper: no job on any queue
    failed = runs(kind="send_email", status="failed")[0]
    admin = _user("admin@example.com")
    client.login(admin, demo.DEMO_PASSWORD)
    # Time passes: the reminders the load left scheduled fall due (they were never put on a queue).
    scheduled = runs(status="scheduled")
    assert scheduled
    for run in scheduled:
        run.due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    workers.start()
    ids = [run.id for run in scheduled]
    wait_for(lambda: all(r.status == "succeeded" for r in runs() if r.id in ids), timeout=30,
             message="the sweeper and the worker to run the reminders")
    assert db.session.scalar(select(func.count()).select_from(Activity).where(Activity.run_id.in_(ids))) == len(ids)
    assert not [r for r in runs() if r.status in WAITING_STATUSES and r.due_at <= utcnow()]
    response = client.post(f"/account/history/runs/{failed.id}/retry", data={"next": "/account/history/email"})
    assert response.status_code == 302
    new = wait_for(lambda: [r for r in runs(kind="send_email") if r.trigger == "retry" and r.is_final],
                   timeout=30, message="the retry to be executed by the worker")[0]
    assert new.status == "failed" and "Connection refused" in new.error  # the demo's SMTP has no server
    page = client.get("/account/history/email").get_data(as_text=True)
    assert f"Connection refused by 127.0.0.1:{smtp_port}" in page
