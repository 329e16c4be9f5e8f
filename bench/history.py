"""Action history at scale: p50/p95 of the first page of each tab with one filter (HTTP through the app,
as an internal user and as a partner), on SQLite and on PostgreSQL. Ends with one JSON line.

    .venv/bin/python bench/history.py [--opps 100000] [--runs 1000000] [--pg postgresql://…] [--repeat 15]
"""

import argparse
import json
import os
import time

from seed_scale import seed
from support import database_url, drop_schemas, percentile

QUERIES = {
    "email": ["status=sent", "template=Template%203", "opportunity=0001"],
    "activities": ["status=completed", "type=Activity%202"],
    "substates": ["change=close_substate", "status=failed"],
    "assignment": ["status=accepted", "company=Company%201"],
}


def measure(url: str, opps: int, runs: int, repeat: int) -> float:
    app = seed(url, opps, runs)
    times = []
    for email in ("admin@bench", "partner@bench"):
        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        for tab, filters in QUERIES.items():
            for query in filters:
                samples = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    response = client.get(f"/account/history/{tab}?{query}", headers={"HX-Request": "true"})
                    samples.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.status_code
                times += samples
                print(f"  {email:14} {tab:11} {query:24} p50 {percentile(samples, 50):7.1f} ms"
                      f"  p95 {percentile(samples, 95):7.1f} ms")
    p95 = percentile(times, 95)
    print(f"{url.split('+')[0].split(':')[0]}: all pages p50 {percentile(times, 50):.1f} ms, p95 {p95:.1f} ms")
    return p95


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opps", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    result = {"sqlite_p95_ms": round(measure(database_url(None), args.opps, args.runs, args.repeat), 1),
              "postgres_p95_ms": None}
    if args.pg:
        try:
            result["postgres_p95_ms"] = round(measure(database_url(args.pg), args.opps, args.runs, args.repeat), 1)
        finally:
            drop_schemas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
