"""Real RQ workers for engine tests: `python worker.py` subprocesses on the test's database and Redis."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from rq import Queue, Worker

ROOT = Path(__file__).resolve().parent.parent
ENGINE_TEST_CONFIG = {
    "ENGINE_LEASE_SECONDS": 2.0,
    "ENGINE_SWEEP_INTERVAL": 0.2,
    "ENGINE_REQUEUE_GRACE": 1.0,
    "ENGINE_BACKOFF_BASE": 0.3,
    "ENGINE_BACKOFF_MAX": 1.0,
    "ENGINE_MAX_ATTEMPTS": 3,
    "ENGINE_CHAIN_DEPTH": 10,
    "OPPFLOW_KIND_PLUGINS": "tests.kind_slow,tests.kind_slow_db,tests.kind_flaky",
}


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class Workers:
    """Start, kill and stop worker processes bound to one app's database, Redis and queue."""

    def __init__(self, app, logdir: Path) -> None:
        self.app = app
        self.logdir = logdir
        self.procs: list[subprocess.Popen] = []
        cfg = app.config
        self.env = {
            **os.environ,
            "DATABASE_URL": cfg["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": cfg["REDIS_URL"],
            "RQ_QUEUE": cfg["RQ_QUEUE"],
            "SECRET_KEY": cfg["SECRET_KEY"],
            "FILES_DIR": cfg["FILES_DIR"],
            "PYTHONPATH": str(ROOT),
            **{k: str(v) for k, v in ENGINE_TEST_CONFIG.items()},
        }

    @property
    def queue(self) -> Queue:
        return Queue(self.app.config["RQ_QUEUE"], connection=Redis.from_url(self.app.config["REDIS_URL"]))

    def start(self, count: int = 1, **env) -> list[subprocess.Popen]:
        started = []
        for _ in range(count):
            log = open(self.logdir / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed with the process
            proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT,
                                    env={**self.env, **{k: str(v) for k, v in env.items()}},
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            proc.log = log
            self.procs.append(proc)
            started.append(proc)
        expected = len([p for p in self.procs if p.poll() is None])
        wait_for(lambda: len(Worker.all(queue=self.queue)) >= expected, timeout=20, message="workers to start")
        return started

    def kill9(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)

    def stop_all(self) -> None:
        """End every worker at once: the test is over, so a warm shutdown (seconds of waiting for RQ's
        blocking dequeue and the sweeper's sleep, per worker) would only slow the suite down."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait()
            proc.log.close()
        # A killed worker stays registered in Redis until its key expires: clear it for the next test.
        for worker in Worker.all(queue=self.queue):
            worker.register_death()
        self.procs.clear()

    def logs(self) -> str:
        return "\n".join((self.logdir / f"worker-{i}.log").read_text() for i in range(len(list(self.logdir.glob("worker-*.log")))))


def add_action(substate, group: str, kind: str, channels=(), delay=None, **config):
    """An enabled action at the end of its group; `delay` is (amount, unit)."""
    from extensions import db
    from models import Action

    position = len([a for a in substate.actions if a.group == group])
    action = Action(substate=substate, group=group, kind=kind, config=config, position=position,
                    enabled=True, channels=list(channels))
    if delay:
        action.delay_amount, action.delay_unit = delay
    db.session.add(action)
    db.session.commit()
    return action


def runs(**where):
    """Every run (fresh from the database), oldest first, filtered by column values."""
    from sqlalchemy import select

    from extensions import db
    from models import ActionRun

    db.session.expire_all()
    stmt = select(ActionRun).order_by(ActionRun.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(ActionRun, key) == value)
    return db.session.execute(stmt).scalars().all()


def status_of(opp, substate) -> str | None:
    from sqlalchemy import select

    from extensions import db
    from models import OpportunitySubstate

    db.session.expire_all()
    return db.session.execute(
        select(OpportunitySubstate.status).where(OpportunitySubstate.opportunity_id == opp.id,
                                                 OpportunitySubstate.substate_id == substate.id)
    ).scalar_one_or_none()


@contextmanager
def statements_sent(engine):
    """The first word of every statement sent on `engine` inside the block (SELECT, WITH, UPDATE…); on
    PostgreSQL with the BEGINs and COMMITs psycopg sends (each a round trip; none around a statement that goes
    alone, engine.alone)."""
    from sqlalchemy import event

    from engine import alone

    sent = []
    postgresql = engine.dialect.name == "postgresql"

    def count(conn, cursor, statement, *args):
        if postgresql and alone.begins(conn.connection.dbapi_connection):
            sent.append("BEGIN")
        sent.append(statement.split(None, 1)[0].upper())

    def commit(conn):
        if postgresql and alone.commits(conn.connection.dbapi_connection):
            sent.append("COMMIT")

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", commit)


def taken_by_another_worker(run_id: int) -> None:
    """Another worker's claim on the run, committed on its own connection (a lease five minutes long)."""
    from datetime import timedelta

    from extensions import db
    from models import ActionRun
    from models.base import utcnow

    with db.engine.begin() as other:
        other.execute(ActionRun.__table__.update().where(ActionRun.id == run_id).values(
            status="running", claimed_by="other worker", lease_until=utcnow() + timedelta(minutes=5)))


def taken_while_the_kind_runs(monkeypatch, kind_key: str, run_id: int) -> None:
    """The first time the kind runs, another worker claims `run_id` once the kind's work is done (before the
    run's outcome is written)."""
    from engine.kinds import get_kind

    kind = get_kind(kind_key)
    real, taken = kind.execute, []

    def execute(run):
        result = real(run)
        if not taken:
            taken.append(run_id)
            taken_by_another_worker(run_id)
        return result

    monkeypatch.setattr(kind, "execute", execute)
