"""RQ worker with its scheduler and the engine's sweeper, the app loaded once before any job runs.

Usage: python worker.py [--burst]   (REDIS_URL and DATABASE_URL from the environment)

Start as many as you like, on as many machines as you like. Each also runs the sweeper (SPEC E6),
which re-enqueues runs that are due and not held by a live worker; a Redis lease lets one sweeper
work at a time. OPPFLOW_WORKER=fork selects RQ's forking worker (a child per job); the default runs
jobs in the worker process itself, which docs/architecture.md records as 3x faster with the app preloaded.
"""

import os
import subprocess
import sys

from redis import Redis
from rq import Queue, SimpleWorker, Worker


def main(argv: list[str]) -> int:
    from app import create_app, frozen
    from engine.dispatch import Sweeper
    from extensions import db

    forking = os.environ.get("OPPFLOW_WORKER") == "fork"
    # No pre-ping: a worker checks a connection out per job, and a job that meets a dropped connection fails
    # as a transient error and is retried (docs/deploy.md). A forked child ends with its job: it keeps no
    # SMTP session for the next (engine.smtp_kept).
    app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
                      **({"MAIL_KEEP_SECONDS": 0} if forking else {})})
    redis = Redis.from_url(app.config["REDIS_URL"])
    queue = Queue(app.config["RQ_QUEUE"], connection=redis)
    if forking:
        # A forked child must not reuse the parent's database connections.
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False) if app else None)
    sweeper = Sweeper(app)
    if "--sweeper" in argv:  # the sweeper alone, in the foreground
        sweeper.run()
        return 0
    if not forking:  # the first email or report need not wait for a template child to start
        from engine import template_pool

        template_pool.warm(app.config["TEMPLATE_MEMORY"])
    frozen(app)  # the loaded app lives as long as the process: collections skip it (and forked children share it)
    worker = (Worker if forking else SimpleWorker)([queue], connection=redis)
    helper = None
    if forking:  # threads and fork() do not mix: the sweeper gets its own process
        helper = subprocess.Popen([sys.executable, __file__, "--sweeper"])
    else:
        sweeper.start()
    try:
        with app.app_context():
            worker.work(with_scheduler=True, burst="--burst" in argv, logging_level="INFO")
    finally:
        sweeper.stop()
        if helper:
            helper.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
