"""A worker's resident memory over many runs (issue 16: "no leak"): one `worker.py` process runs `--runs`
database-only runs (a substate's on-open action opening another, as bench/pipeline.py), enqueued a batch at a
time; its RSS (/proc/<pid>/status VmRSS) is read after each batch. The growth is counted from the end of the
first batch (imports, caches and the connection pool are warm by then) to the end of the last.

    .venv/bin/python bench/worker_memory.py [--database-url postgresql://…] [--runs 10000] [--batch 1000]

Ends with one JSON line: worker_rss_growth_mb (target < 20 MB at 10,000 runs), rss_first_mb, rss_last_mb.
With TEST_DATABASE_URL set (and no --database-url) it measures on SQLite and on PostgreSQL and reports the
worse growth.
"""

import argparse
import json
import os
import time

from pipeline import build, final_count, open_all, opportunities
from support import engine_bench


def rss_mb(pid: int) -> float:
    """The process's resident set size in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure(database_url: str | None, runs: int, batch: int) -> dict:
    """RSS after each batch of runs, one worker."""
    with engine_bench(database_url) as (app, queue, pool), app.app_context():
        _user, flow, subs = build(app)
        pool.start(1, queue)
        pid = pool.procs[0].pid
        samples, done, started = [], 0, time.perf_counter()
        while done < runs:
            ids = opportunities(flow, min(batch, runs - done))
            open_all(ids, subs[2].id)  # one run each, enqueued when this commits
            deadline = time.time() + 300
            while final_count(ids) < len(ids) and time.time() < deadline:
                time.sleep(0.05)
            done += len(ids)
            samples.append(rss_mb(pid))
            print(f"  {done:6d} runs: worker RSS {samples[-1]:.1f} MB", flush=True)
        elapsed = time.perf_counter() - started
    growth = samples[-1] - samples[0]
    print(f"{runs} runs in {elapsed:.0f} s; RSS {samples[0]:.1f} MB after the first batch, {samples[-1]:.1f} MB at "
          f"the end: growth {growth:.1f} MB (max {max(samples):.1f} MB); load {os.getloadavg()[0]:.2f}")
    return {"worker_rss_growth_mb": round(growth, 1), "rss_first_mb": round(samples[0], 1),
            "rss_last_mb": round(samples[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    backends = [args.database_url] if args.database_url else [None] + (
        [os.environ["TEST_DATABASE_URL"]] if os.environ.get("TEST_DATABASE_URL") else [])
    figures = []
    for url in backends:
        print("postgresql" if url else "sqlite")
        figures.append(measure(url, args.runs, args.batch))
    worst = max(figures, key=lambda f: f["worker_rss_growth_mb"])
    print(json.dumps({**worst, "load": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
