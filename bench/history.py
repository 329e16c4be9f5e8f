"""Action history at scale: p50/p95 of the first page of each tab with one filter (HTTP through the app,
as an internal user and as a partner), on SQLite and on PostgreSQL; then the full page of each tab (with
the select filters' options); then every sortable column of every tab sorted both ways (issue 16: each
(tab, column, direction, role) timed, `sort_p95_ms` the p95 of them all). Ends with one JSON line (the
filtered pages' p95 and the sorts' p95, per backend).

    .venv/bin/python bench/history.py [--opps 100000] [--runs 1000000] [--pg postgresql://…] [--repeat 15]
                                      [--keep-sqlite FILE] [--keep-pg SCHEMA] [--sort-repeat 3]
                                      [--only filters|sorts] [--tabs email,tasks] [--no-sqlite]

--keep-sqlite / --keep-pg keep the seeded database and reuse it on the next run of the same size. Kept
pages are off (PAGE_CACHE_MB=0): every sample is the query and the rendering.
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


def sort_urls(app, only_tabs=None) -> list[str]:
    """Each sortable column of each tab, both directions (the registry's tabs: a new column is timed too)."""
    with app.app_context():
        from services.history import tabs

        return [f"/account/history/{tab.key}?sort={col.key}&dir={direction}"
                for tab in tabs() if not only_tabs or tab.key in only_tabs
                for col in tab.columns if col.sortable and col.expr is not None for direction in ("asc", "desc")]


def measure_sorts(app, repeat: int, only_tabs=None) -> list[float]:
    """The first page of every sort as an admin and as a partner; every sample, for the p95."""
    times, slowest = [], []
    for email in ("admin@bench", "partner@bench"):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        for url in sort_urls(app, only_tabs):
            _timed(client, url, 1, htmx=True)  # warm: the first read of a column pays for the disk cache
            samples = _timed(client, url, repeat, htmx=True)
            times += samples
            slowest.append((percentile(samples, 95), email, url))
            print(f"  {email:14} {url.removeprefix('/account/history/'):44} p50 {percentile(samples, 50):7.1f} ms"
                  f"  p95 {percentile(samples, 95):7.1f} ms", flush=True)
    print("  slowest sorts: " + "; ".join(f"{ms:.0f} ms {who.split('@')[0]} {url.split('/')[-1]}"
                                         for ms, who, url in sorted(slowest, reverse=True)[:8]))
    return times


def measure(url: str, opps: int, runs: int, repeat: int, reuse: bool = False, only: str | None = None,
            sort_repeat: int = 3, only_tabs=None) -> tuple[float | None, float | None]:
    app = seed(url, opps, runs, reuse=reuse)
    # Every sample renders its page: the web processes' kept pages (blueprints/page_cache.py) would answer a
    # repeated request from memory while nothing writes, and time the cache rather than the query.
    app.config["PAGE_CACHE_MB"] = 0
    name = url.split('+')[0].split(':')[0]
    sort_p95 = None
    if only != "filters":
        sorts = measure_sorts(app, sort_repeat, only_tabs)
        sort_p95 = percentile(sorts, 95)
        print(f"{name}: sorts p50 {percentile(sorts, 50):.1f} ms, p95 {sort_p95:.1f} ms ({len(sorts)} samples)")
    if only == "sorts":
        return None, sort_p95
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
    print(f"{name}: filtered pages p50 {percentile(times, 50):.1f} ms, p95 {p95:.1f} ms; "
          f"full pages p50 {percentile(full, 50):.1f} ms, p95 {percentile(full, 95):.1f} ms")
    return p95, sort_p95


def _round(value):
    return round(value, 1) if value is not None else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--keep-sqlite", help="SQLite file to keep, and reuse when already seeded")
    parser.add_argument("--keep-pg", help="PostgreSQL schema to keep, and reuse when already seeded")
    parser.add_argument("--sort-repeat", type=int, default=3, help="samples of each sort (after one warm-up)")
    parser.add_argument("--only", choices=("filters", "sorts"))
    parser.add_argument("--tabs", help="comma-separated tab keys whose sorts are timed (default: all)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    options = {"only": args.only, "sort_repeat": args.sort_repeat,
               "only_tabs": set(args.tabs.split(",")) if args.tabs else None}
    result = {"sqlite_p95_ms": None, "postgres_p95_ms": None, "sqlite_sort_p95_ms": None,
              "postgres_sort_p95_ms": None}
    if not args.no_sqlite:
        sqlite_url = database_url(None, args.keep_sqlite)
        try:
            filters, sorts = measure(sqlite_url, args.opps, args.runs, args.repeat, reuse=bool(args.keep_sqlite),
                                     **options)
            result.update(sqlite_p95_ms=_round(filters), sqlite_sort_p95_ms=_round(sorts))
        finally:
            if not args.keep_sqlite:  # the temporary file of a million runs is ~400 MB
                shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if args.pg:
        try:
            url = database_url(args.pg, args.keep_pg)
            filters, sorts = measure(url, args.opps, args.runs, args.repeat, reuse=bool(args.keep_pg), **options)
            result.update(postgres_p95_ms=_round(filters), postgres_sort_p95_ms=_round(sorts))
        finally:
            drop_schemas()
    # The figure: the worse of the backends measured.
    measured = [v for v in (result["sqlite_sort_p95_ms"], result["postgres_sort_p95_ms"]) if v is not None]
    result["sort_p95_ms"] = max(measured) if measured else None
    result["load"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
