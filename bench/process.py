"""Issue 12's figures (custom fields, process automations), on SQLite and, when TEST_DATABASE_URL is set (or
--pg), on PostgreSQL; each figure is the worse of the two, as bench/monitoring.py reports:

- field_to_close_p99_ms — a custom field saved through services.field_values.set_value (commit included, as
  the page saves it) → the substate its active process automation ticks closed and its on-close
  database-only actions committed, real workers (bench/process_field_close.py), target ≤ 500 ms;
- custom_field_filter_p95_ms — the opportunity list's first page filtered on custom fields at 100,000
  opportunities, as an admin and as a partner (bench/process_field_filter.py), target ≤ 150 ms.

Each module's `measure(database_url)` gets a database of its own (a temporary SQLite file, a fresh
PostgreSQL schema). Ends with one JSON line.

    .venv/bin/python bench/process.py [--pg postgresql://…]
"""

import argparse
import importlib
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import database_url, drop_schemas, redis_url  # noqa: E402

# module (in bench/) → the figure it returns, and its goal in milliseconds
MODULES = {
    "process_field_close": ("field_to_close_p99_ms", 500),
    "process_field_filter": ("custom_field_filter_p95_ms", 150),
}


def _forget(url: str) -> None:
    """Remove a temporary SQLite database (a PostgreSQL schema goes with drop_schemas at the end)."""
    if url.startswith("sqlite:///"):
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


def backend(pg: str | None) -> dict:
    """Every figure on one database system."""
    name = "postgres" if pg else "sqlite"
    print(f"{name}:")
    figures: dict = {}
    for module_name, (key, goal) in MODULES.items():
        module = importlib.import_module(module_name)
        url = database_url(pg)  # a database of its own
        try:
            result = module.measure(url)
        finally:
            _forget(url)
        figures.update({k: v for k, v in result.items() if k != key})
        figures[key] = round(float(result[key]), 1)
        print(f"  {key}: {figures[key]} ms (goal ≤ {goal} ms)")
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    # The workers and the app share one Redis: REDIS_URL, else a private one for this run.
    redis_proc = None
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"], redis_proc = redis_url()
    try:
        per = {"sqlite": backend(None), "postgres": None}
        if args.pg:
            try:
                per["postgres"] = backend(args.pg)
            finally:
                drop_schemas()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
    worse = {}
    for key, _goal in MODULES.values():
        values = [figures[key] for figures in per.values() if figures and key in figures]
        if values:
            worse[key] = max(values)
    print(json.dumps({**worse, **per}))


if __name__ == "__main__":
    main()
