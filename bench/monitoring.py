"""Issue 11's figures (tasks, calendar, monitoring rules, trigger T1), on SQLite and, when TEST_DATABASE_URL is
set (or --pg), on PostgreSQL; each figure is the worse of the two, as bench/history.py reports:

- task_trigger_p99_ms — a task's status change committed → the trigger's substate opened and its on-open
  database-only actions committed, real workers (bench/monitoring_trigger.py), target ≤ 500 ms;
- tasks_p95_ms — first page of the task list at 100,000 tasks, filtered, as a partner and as an admin
  (bench/monitoring_tasks.py), target ≤ 150 ms;
- calendar_p95_ms — month view of a busy user (bench/monitoring_calendar.py), target ≤ 150 ms;
- history_entries_count_p95_ms — with --history-runs N: the History entries tab's filtered first page with
  its count of matching entries, at N runs (bench/seed_scale.py; 1,000,000 takes minutes to seed).

Each module's `measure(database_url)` gets a database of its own (a temporary SQLite file, a fresh
PostgreSQL schema). A module not there yet is skipped with a note. Ends with one JSON line.

    .venv/bin/python bench/monitoring.py [--pg postgresql://…] [--history-runs 1000000] [--repeat 15]
                                         [--keep-sqlite FILE] [--keep-pg SCHEMA]
"""

import argparse
import importlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import database_url, drop_schemas, percentile, redis_url  # noqa: E402

# module (in bench/) → the figure it returns
MODULES = {
    "monitoring_trigger": "task_trigger_p99_ms",
    "monitoring_tasks": "tasks_p95_ms",
    "monitoring_calendar": "calendar_p95_ms",
}
HISTORY_FIGURE = "history_entries_count_p95_ms"
# The History entries tab filtered as a supervisor would ("how many times did the manager break the rule").
HISTORY_QUERIES = ["author=Manager%203", "text=Rule%203", "author=Manager%203&text=broken&when_from=2026-01-05"]


def _module(name: str):
    """bench/<name>.py, or None (with a note) while it is not written yet."""
    for qualified in (name, f"bench.{name}"):
        try:
            return importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name not in (name, qualified, "bench"):
                raise  # the module is there but something it imports is not: say so
    print(f"  bench/{name}.py is not there yet: {MODULES[name]} skipped")
    return None


def _forget(url: str) -> None:
    """Remove a temporary SQLite database (a PostgreSQL schema goes with drop_schemas at the end)."""
    if url.startswith("sqlite:///"):
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


def _history_count(url: str, runs: int, repeat: int, reuse: bool) -> float:
    """p95 of the History entries tab's filtered first page with its count, as an admin and a partner."""
    from seed_scale import seed

    app = seed(url, max(runs // 10, 1), runs, reuse=reuse)
    samples = []
    for email in ("admin@bench", "partner@bench"):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        for query in HISTORY_QUERIES:
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                response = client.get(f"/account/history/history_entries?{query}", headers={"HX-Request": "true"})
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.status_code
            samples += times
            print(f"    {email:14} history_entries {query:52} p50 {percentile(times, 50):7.1f} ms"
                  f"  p95 {percentile(times, 95):7.1f} ms")
    return percentile(samples, 95)


def backend(pg: str | None, args) -> dict:
    """Every figure on one database system."""
    name = "postgres" if pg else "sqlite"
    print(f"{name}:")
    figures: dict = {}
    for module_name, key in MODULES.items():
        module = _module(module_name)
        if module is None:
            continue
        url = database_url(pg)  # a database of its own
        try:
            result = module.measure(url)
        finally:
            _forget(url)
        figures[key] = round(float(result[key]), 1)
        print(f"  {key}: {figures[key]} ms")
    if args.history_runs:
        keep = args.keep_pg if pg else args.keep_sqlite
        url = database_url(pg, keep)
        try:
            figures[HISTORY_FIGURE] = round(_history_count(url, args.history_runs, args.repeat, bool(keep)), 1)
        finally:
            if not keep:
                _forget(url)
        print(f"  {HISTORY_FIGURE}: {figures[HISTORY_FIGURE]} ms")
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--history-runs", type=int, default=0,
                        help="also time the History entries tab with its count at this many runs (0: skip)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep-sqlite", help="SQLite file of the history seed to keep, and reuse when seeded")
    parser.add_argument("--keep-pg", help="PostgreSQL schema of the history seed to keep, and reuse when seeded")
    args = parser.parse_args()
    # The workers and the app share one Redis: REDIS_URL, else a private one for this run.
    redis_proc = None
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"], redis_proc = redis_url()
    try:
        per = {"sqlite": backend(None, args), "postgres": None}
        if args.pg:
            try:
                per["postgres"] = backend(args.pg, args)
            finally:
                drop_schemas()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
    keys = list(MODULES.values()) + [HISTORY_FIGURE]
    worse = {}
    for key in keys:
        values = [figures[key] for figures in per.values() if figures and key in figures]
        if values:
            worse[key] = max(values)
    print(json.dumps({**worse, **per}))


if __name__ == "__main__":
    main()
