"""Long work with a progress bar (issue 14 item 8), the framework itself: slices that resume where the last
stopped, a cancel between slices, an error recorded, a lost job queued again, and the pages that show the bar
only to the user who started the work. The kinds that use it (bulk retry, run now) test it through real workers."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models.base import utcnow
from models.progress import LongJob
from services import progress


def _count_slice(job: LongJob) -> bool:
    """A kind for the framework's test: counts to `total` in steps of `step`, remembering each number."""
    step = job.params["step"]
    upto = min(job.total, job.cursor + step)
    if job.params.get("boom_at") is not None and job.cursor >= job.params["boom_at"]:
        raise RuntimeError("the disk is full")
    job.result = {**job.result, "seen": job.result.get("seen", []) + list(range(job.cursor, upto))}
    job.cursor = job.done = upto
    return upto < job.total


@pytest.fixture
def counting(app):
    kind = progress.register(progress.Kind("test_count", "Counting", _count_slice,
                                           lambda job: f"counted {len(job.result.get('seen', []))}"))
    yield kind
    progress.KINDS.pop("test_count", None)


def _run_to_end(job_id: int, slices: int = 100) -> list[str]:
    outcomes = []
    for _ in range(slices):
        outcomes.append(progress.run(job_id))
        if outcomes[-1] != "continued":
            break
    return outcomes


def test_work_resumes_slice_after_slice_until_done(app, make, counting, monkeypatch):
    monkeypatch.setattr(progress, "SLICE_SECONDS", 0)  # one step per slice: every resume is exercised
    user = make.user("manager")
    job = progress.start("test_count", user, {"step": 3}, total=10)
    db.session.commit()
    outcomes = _run_to_end(job.id)
    assert outcomes == ["continued"] * 3 + ["done"]
    db.session.expire_all()
    job = db.session.get(LongJob, job.id)
    assert job.status == "done" and job.done == 10 and job.percent == 100 and job.finished_at
    assert job.result["seen"] == list(range(10))  # nothing done twice, nothing skipped


def test_a_second_delivery_of_a_running_slice_does_nothing(app, make, counting):
    user = make.user("manager")
    job = progress.start("test_count", user, {"step": 1}, total=5)
    db.session.commit()
    db.session.execute(LongJob.__table__.update().values(status="running", heartbeat_at=utcnow()))
    db.session.commit()
    assert progress.run(job.id) == "not claimed"


def test_cancel_stops_between_slices_and_keeps_what_was_done(app, make, counting, monkeypatch):
    monkeypatch.setattr(progress, "SLICE_SECONDS", 0)
    user = make.user("manager")
    job = progress.start("test_count", user, {"step": 2}, total=100)
    db.session.commit()
    assert progress.run(job.id) == "continued"
    assert progress.cancel(db.session.get(LongJob, job.id))
    db.session.commit()
    assert progress.run(job.id) == "cancelled"
    db.session.expire_all()
    job = db.session.get(LongJob, job.id)
    assert job.status == "cancelled" and job.done == 2 and not progress.cancel(job)


def test_an_error_ends_the_work_as_failed_with_its_message(app, make, counting, monkeypatch):
    monkeypatch.setattr(progress, "SLICE_SECONDS", 0)
    user = make.user("manager")
    job = progress.start("test_count", user, {"step": 2, "boom_at": 4}, total=10)
    db.session.commit()
    assert _run_to_end(job.id)[-1] == "failed"
    db.session.expire_all()
    job = db.session.get(LongJob, job.id)
    assert job.status == "failed" and "the disk is full" in job.error and job.done == 4


def test_the_sweeper_queues_again_work_whose_job_was_lost(app, make, counting):
    user = make.user("manager")
    job = progress.start("test_count", user, {"step": 1}, total=3)
    db.session.commit()
    long_ago = utcnow() - progress.STALE - timedelta(seconds=5)
    db.session.execute(LongJob.__table__.update().values(queued_at=long_ago))
    db.session.commit()
    assert progress.requeue_stale(utcnow()) == 1
    db.session.commit()
    job = db.session.get(LongJob, job.id)
    assert job.queued_at > long_ago
    assert progress.requeue_stale(utcnow()) == 0  # not again at the next sweep


def test_the_bar_is_its_owners_and_cancel_needs_csrf(app, client, make, counting):
    owner, other = make.user("manager"), make.user("manager")
    job = progress.start("test_count", owner, {"step": 1}, total=4)
    db.session.commit()
    stranger = app.test_client()
    stranger.login(other)
    assert stranger.get(f"/work/{job.id}").status_code == 404
    assert stranger.post(f"/work/{job.id}/cancel").status_code == 404
    assert "Counting" not in stranger.get("/work").text
    client.login(owner)
    assert client.post(f"/work/{job.id}/cancel", csrf=False).status_code == 400
    page = client.get(f"/work/{job.id}")
    assert page.status_code == 200 and "Counting" in page.text and 'hx-trigger="every' in page.text
    assert "Counting" in client.get("/work").text
    assert client.post(f"/work/{job.id}/cancel", headers={"HX-Request": "true"}).status_code == 200
    assert db.session.execute(select(LongJob.cancel_requested).where(LongJob.id == job.id)).scalar() is True
