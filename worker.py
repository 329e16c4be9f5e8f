"""RQ worker with its scheduler, the app loaded once before any job runs.

Usage: python worker.py [--burst]   (REDIS_URL and DATABASE_URL from the environment)
Start as many as you like, on as many machines as you like; each runs its own scheduler,
and RQ lets only one of them move scheduled jobs at a time.
"""

import os
import sys

from redis import Redis
from rq import Queue, Worker


def main(argv: list[str]) -> int:
    from app import create_app

    # Loading the app here, before the work loop, spares each job the import (DESIGN.md: 85 vs 12 jobs/s).
    app = create_app()
    redis = Redis.from_url(app.config["REDIS_URL"])
    queue = Queue(app.config["RQ_QUEUE"], connection=redis)
    worker_class = Worker
    if os.environ.get("OPPFLOW_SIMPLE_WORKER") == "1":
        from rq import SimpleWorker

        worker_class = SimpleWorker
    worker = worker_class([queue], connection=redis)
    with app.app_context():
        worker.work(with_scheduler=True, burst="--burst" in argv, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
