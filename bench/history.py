"""Action history at scale: p50/p95 of the first page of each tab with one filter (HTTP through the app,
as an internal user and as a partner), on SQLite and on PostgreSQL; then the full page of each tab (with
the select filters' options). Ends with one JSON line (the filtered pages' p95).

    .venv/bin/python bench/history.py [--opps 100000] [--runs 1000000] [--pg postgresql://…] [--repeat 15]
                                      [--keep-sqlite FILE] [--keep-pg SCHEMA]

--keep-sqlite / --keep-pg keep the seeded database and reuse it on the next run of the same size.
"""

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from seed_scale import seed
from support import database_url, drop_schemas, percentile

QUERIES = {
    "email": ["status=sent", "template=Template%203", "opportunity=0001"],
    "activities": ["status=completed", "type=Activity%202"],
    "substates": ["change=close_substate", "status=failed"],
    "assignment": ["status=accepted", "company=Company%201"],
    "reports": ["template=Report%201"],
    "exports": ["type=xlsx"],
    "signatures": ["status=signed"],
    # The monitoring rules' tabs (issue 11); History entries with its count of matching entries.
    "tasks": ["status=in_progress", "action=completed"],
    "notifications": ["status=read"],
    "history_entries": ["author=Manager%203"],
    "triggers": ["trigger=Trigger%202"],
}


def _timed(client, url: str, repeat: int, htmx: bool) -> list[float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def measure(url: str, opps: int, runs: int, repeat: int, reuse: bool = False) -> float:
    app = seed(url, opps, runs, reuse=reuse)
    times, full = [], []
    for email in ("admin@bench", "partner@bench"):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        for tab, filters in QUERIES.items():
            for query in filters:
                samples = _timed(client, f"/account/history/{tab}?{query}", repeat, htmx=True)
                times += samples
                print(f"  {email:14} {tab:11} {query:24} p50 {percentile(samples, 50):7.1f} ms"
                      f"  p95 {percentile(samples, 95):7.1f} ms")
        for tab in QUERIES:
            samples = _timed(client, f"/account/history/{tab}", max(3, repeat // 3), htmx=False)
            full += samples
            print(f"  {email:14} {tab:11} {'full page + options':24} p50 {percentile(samples, 50):7.1f} ms"
                  f"  p95 {percentile(samples, 95):7.1f} ms")
    p95 = percentile(times, 95)
    name = url.split('+')[0].split(':')[0]
    print(f"{name}: filtered pages p50 {percentile(times, 50):.1f} ms, p95 {p95:.1f} ms; "
          f"full pages p50 {percentile(full, 50):.1f} ms, p95 {percentile(full, 95):.1f} ms")
    return p95


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--keep-sqlite", help="SQLite file to keep, and reuse when already seeded")
    parser.add_argument("--keep-pg", help="PostgreSQL schema to keep, and reuse when already seeded")
    args = parser.parse_args()
    sqlite_url = database_url(None, args.keep_sqlite)
    try:
        sqlite = measure(sqlite_url, args.opps, args.runs, args.repeat, reuse=bool(args.keep_sqlite))
    finally:
        if not args.keep_sqlite:  # the temporary file of a million runs is ~400 MB
            shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    result = {"sqlite_p95_ms": round(sqlite, 1), "postgres_p95_ms": None}
    if args.pg:
        try:
            url = database_url(args.pg, args.keep_pg)
            result["postgres_p95_ms"] = round(measure(url, args.opps, args.runs, args.repeat,
                                                      reuse=bool(args.keep_pg)), 1)
        finally:
            drop_schemas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
