"""Web capacity (figures `capacity_rps`, `load_errors`): the stack as `make run` starts it (gunicorn, 4 sync
workers on 2 cores, run.web_command) on a seeded database, loaded open-loop by 16 logged-in sessions, 8 of an
admin and 8 of a partner user (with --scale medium, one of 20 partner companies: it sees ~1/10 of the
opportunities; with --scale demo, the demo's installer user).

    .venv/bin/python bench/web_load.py [--pg postgresql://…] [--rates 40,80,160,240] [--seconds 20]
                                       [--clients 16] [--scale demo|small|medium|large|OPPS,RUNS]
                                       [--writes 0]

Data: the demo data (services.demo.load, as `make run` loads it), then, unless --scale demo,
bench/seed_scale.py's rows after it (default medium = 20,000 opportunities, 100,000 action runs with their
detail rows).
Pages, full GETs as a browser sends them (no HX-Request): the opportunity list, the partner-visible
opportunity with the most runs, the history tabs Email and Substates, and the Photovoltaic installation
flow's designer. The designer is for internal users only: the partner sessions skip it (4 pages, not 5).

Each step offers a fixed rate for --seconds: request k starts at t0 + k/rate whether or not earlier ones
finished (new keep-alive connections are opened as needed), on session k mod 16, round-robin over that
session's pages. Latency runs from the scheduled start to the last byte, so a late client counts against
the server, never in its favour; each step prints the rate the client actually offered and how late it
started requests (its own limit). An error is a non-200 answer, a failure or no answer within 5 s.
A page sustains a step when its p99 ≤ 250 ms with no error; its capacity is the last step it sustained
before its first failure (0 if none). Stepping stops once every page has failed. No worker.py: the load
is read-only GETs that enqueue nothing. The web processes keep rendered pages while the database is unchanged
(blueprints/page_cache.py): --writes N commits N one-row writes a second beside the load, as busy workers do,
so that the pages are rendered again that often (OPPFLOW_PAGE_CACHE_MB=0 in the environment: never kept).

Ends with one JSON line: {"capacity_rps": lowest over pages, "load_errors": errors over every step and the
warm-up (each session opening each of its pages once before the steps),
"capacity_by_page": {...}, "offered_rps": {...}}, each the worse of SQLite and PostgreSQL when --pg (default
TEST_DATABASE_URL) is given; each backend's figures are printed on their own line before.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import seed_scale  # noqa: E402
from support import ROOT, Browser, database_url, drop_schemas, free_port, percentile, redis_url  # noqa: E402

import run  # noqa: E402 - the repository's run.py (no side effects on import): `make run`'s command line
from services.demo import DEMO_PASSWORD  # noqa: E402

SCALES = {"demo": (0, 0), "small": (2_000, 10_000), "medium": (20_000, 100_000), "large": (100_000, 1_000_000)}
# Who the sessions log in as: seed_scale's users, or the demo's (an installer's user) with the demo data alone.
LOGINS = {"scale": {"admin": ("admin@bench", "bench-password"), "partner": ("partner@bench", "bench-password")},
          "demo": {"admin": ("admin@example.com", DEMO_PASSWORD), "partner": ("installer@example.com", DEMO_PASSWORD)}}
# Sent at login and with every request: Flask-Login's "strong" session protection ties a session to it.
USER_AGENT = "oppflow-web-load/1.0"
TIMEOUT = 5.0
P99_LIMIT_MS = 250.0


def seed(url: str, opps: int, runs: int) -> tuple[dict[str, str], dict[str, str]]:
    """Load the demo data, then the scale rows after it; returns each page's path {name: path}, and the keys
    the seeding app used (the server gets the same, as `make run`'s processes share instance/'s: anything
    the seed encrypted stays readable). The demo goes first: its replay dates what it writes by looking for
    rows written since each step, which on top of 100,000 runs would read whole tables at every step."""
    from sqlalchemy import func, or_, select

    from app import create_app
    from extensions import db
    from models import ActionRun, Opportunity, OpportunityType, User
    from services import demo

    demo_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "RATELIMIT_ENABLED": False})
    with demo_app.app_context():
        db.create_all()
        started = time.perf_counter()
        # A port where nothing listens: the replay's emails fail, as in `make run`, without a developer's sink.
        demo.load(smtp_host="127.0.0.1", smtp_port=free_port())
        db.session.commit()
        print(f"demo data loaded in {time.perf_counter() - started:.1f} s")
        keys = {"SECRET_KEY": demo_app.config["SECRET_KEY"],
                "OPPFLOW_ENCRYPTION_KEYS": demo_app.config["ENCRYPTION_KEYS"]}
        db.session.remove()
        db.engine.dispose()
    app = seed_scale.seed(url, opps, runs) if opps else demo_app
    with app.app_context():
        settle(url)
        partner = LOGINS["scale" if opps else "demo"]["partner"][0]
        company = db.session.execute(select(User.company_id).where(User.email == partner)).scalar_one()
        opp_id = db.session.execute(
            select(ActionRun.opportunity_id).join(Opportunity, Opportunity.id == ActionRun.opportunity_id)
            .where(or_(Opportunity.installer_id == company, Opportunity.commercial_id == company))
            .group_by(ActionRun.opportunity_id).order_by(func.count().desc(), ActionRun.opportunity_id).limit(1)
        ).scalar_one()
        type_id = db.session.execute(select(OpportunityType.id)
                                     .where(OpportunityType.name == "Photovoltaic installation")).scalar_one()
        db.session.remove()
        db.engine.dispose()
    return {"list": "/opportunities", "opportunity": f"/opportunities/{opp_id}",
            "history_email": "/account/history/email", "history_substates": "/account/history/substates",
            "designer": f"/settings/types/{type_id}"}, keys


def settle(url: str) -> None:
    """VACUUM ANALYZE the freshly loaded tables on PostgreSQL, as after any bulk load: left to autovacuum, it
    would run during the steps, competing for the CPU and, each time it writes its statistics, changing the
    data version that the web processes' kept pages are tagged with (all of them rendered again at once)."""
    from sqlalchemy import create_engine, text

    from extensions import db

    if not url.startswith("postgresql"):
        return
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE " + ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)))
    engine.dispose()
    print(f"vacuumed and analysed in {time.perf_counter() - started:.1f} s")


def start_gunicorn(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn with `make run`'s command line on a free loopback port; returns (process, base URL) once
    it answers. Its access log (stdout) is dropped: nobody reads it and a full pipe would stall the server."""
    port = free_port()
    with log.open("wb") as errors:
        proc = subprocess.Popen(run.web_command("127.0.0.1", port), cwd=ROOT, env=run.child_env(env, "127.0.0.1", port),
                                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(base + "/login", timeout=2).read()
            return proc, base
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise SystemExit(f"gunicorn did not start; its log ends:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop gunicorn's process group: the master and its workers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def sessions(base: str, count: int, pages: dict[str, str], logins: dict) -> list[tuple[str, str, list[str]]]:
    """`count` logged-in sessions, admins and partners alternately: (role, Cookie header, page names)."""
    made = []
    for i in range(count):
        role = ("admin", "partner")[i % 2]
        browser = Browser(base)
        browser.opener.addheaders = [("User-Agent", USER_AGENT)]
        browser.login(*logins[role])
        jar = next(h.cookiejar for h in browser.opener.handlers if hasattr(h, "cookiejar"))
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        names = [name for name in pages if not (role == "partner" and name == "designer")]
        made.append((role, cookie, names))
    return made


class Client:
    """A minimal HTTP/1.1 client on asyncio streams (cheap enough to offer hundreds of requests/s from one
    Python thread), with a pool of keep-alive connections shared by every session: a session is a cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str, cookie: str) -> int:
        """GET `path` with the session's cookie; returns the status once the whole body is read."""
        for attempt in range(2):
            reused = bool(self.idle) and attempt == 0  # a retry opens a new connection (the pool may hold more stale)
            reader, writer = self.idle.pop() if reused else await asyncio.open_connection("127.0.0.1", self.port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nCookie: {cookie}\r\n"
                             f"User-Agent: {USER_AGENT}\r\nAccept: text/html\r\nAccept-Encoding: identity\r\n\r\n".encode())
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    if reused and attempt == 0:  # the server closed an idle keep-alive connection: a new one
                        writer.close()
                        continue
                    raise
                status, headers = self._head(head)
                await self._body(reader, headers)
            except BaseException:  # a timeout cancels us mid-answer: that connection cannot be reused
                writer.close()
                raise
            if headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.append((reader, writer))
            return status
        raise ConnectionError("unreachable")

    @staticmethod
    def _head(head: bytes) -> tuple[int, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    @staticmethod
    async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            while (await reader.readline()) not in (b"\r\n", b""):  # trailers
                pass
        else:
            raise ConnectionError("answer without Content-Length nor chunked encoding")

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def one(client: Client, path: str, cookie: str, due: float, out: list, key: tuple) -> None:
    """One request; appends (page, role, latency ms from its scheduled start, ok, what failed)."""
    loop = asyncio.get_running_loop()
    try:
        status = await asyncio.wait_for(client.get(path, cookie), TIMEOUT)
        out.append((*key, (loop.time() - due) * 1000, status == 200, None if status == 200 else f"HTTP {status}"))
    except Exception as err:  # noqa: BLE001 - every failure is a load error, named in the report
        out.append((*key, (loop.time() - due) * 1000, False, type(err).__name__))


async def step(client: Client, users: list, pages: dict, rate: float, seconds: float) -> tuple[list, dict]:
    """Offer `rate` requests/s for `seconds`, open-loop; returns (samples, the client's own figures)."""
    loop = asyncio.get_running_loop()
    total = max(1, round(rate * seconds))
    out: list = []
    tasks, lags = [], []
    turns = [0] * len(users)
    t0 = loop.time() + 0.05
    for k in range(total):
        due = t0 + k / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        lags.append((loop.time() - due) * 1000)
        session = k % len(users)
        role, cookie, names = users[session]
        # Each session cycles through its pages, starting at a different one, so every page is hit evenly.
        name = names[(session + turns[session]) % len(names)]
        turns[session] += 1
        tasks.append(asyncio.create_task(one(client, pages[name], cookie, due, out, (name, role))))
    issued = loop.time() - t0
    await asyncio.gather(*tasks)
    return out, {"offered_rps": round(total / max(issued + 1 / rate, 1e-9), 1),
                 "start_lag_p99_ms": round(percentile(lags, 99), 1)}


async def warm_up(client: Client, users: list, pages: dict) -> list[str]:
    """Every session opens each of its pages once (caches, templates, connections); what failed."""
    failed = []
    for role, cookie, names in users:
        for name in names:
            try:
                status = await asyncio.wait_for(client.get(pages[name], cookie), 30)
            except Exception as err:  # noqa: BLE001
                status = type(err).__name__
            if status != 200:
                failed.append(f"{role} {name} {pages[name]}: {status}")
    return failed


async def load(base: str, users: list, pages: dict, rates: list[float], seconds: float) -> dict:
    """The warm-up, then the steps in increasing order; returns this backend's figures."""
    client = Client(int(base.rsplit(":", 1)[1]))
    failed = await warm_up(client, users, pages)
    for line in failed:
        print(f"  warm-up error: {line}")
    errors = len(failed)
    capacity = {name: 0 for name in pages}
    broken: set[str] = set()
    offered = {}
    try:
        for rate in rates:
            samples, own = await step(client, users, pages, rate, seconds)
            offered[str(rate)] = own["offered_rps"]
            print(f"  step {rate:g} rps: offered {own['offered_rps']} rps, start lag p99 {own['start_lag_p99_ms']} ms,"
                  f" {len(samples)} requests", flush=True)
            for name in pages:
                mine = [s for s in samples if s[0] == name]
                bad = [s for s in mine if not s[3]]
                p99 = percentile([s[2] for s in mine], 99)
                ok = not bad and p99 <= P99_LIMIT_MS
                errors += len(bad)
                if ok and name not in broken:
                    capacity[name] = rate
                elif not ok:
                    broken.add(name)
                why = f"  ({', '.join(sorted({s[4] for s in bad}))})" if bad else ""
                print(f"    {name:18} {len(mine):5} req {len(bad):4} err  p50 {percentile([s[2] for s in mine], 50):7.1f}"
                      f" ms  p99 {p99:7.1f} ms  {'ok' if ok else 'FAIL'}{why}", flush=True)
            if broken >= set(pages):
                break
    finally:
        client.close()
    return {"capacity_rps": min(capacity.values()), "load_errors": errors, "capacity_by_page": capacity,
            "offered_rps": offered}


@contextlib.contextmanager
def writer(url: str, rate: float):
    """With rate > 0, a thread commits `rate` one-row writes a second (to a table of the bench's own) while
    the load runs, as busy workers do: every commit changes the data version, so the web processes' kept
    pages (blueprints/page_cache.py) go stale that often and are rendered again."""
    if rate <= 0:
        yield
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_tick (id INTEGER PRIMARY KEY, at FLOAT)"))
    done, made = threading.Event(), [0]

    def run() -> None:
        start = time.perf_counter()
        while not done.is_set():
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO bench_tick (id, at) VALUES (:i, :t)"), {"i": made[0], "t": time.time()})
            made[0] += 1
            done.wait(max(0.0, start + made[0] / rate - time.perf_counter()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        engine.dispose()
        print(f"  writes during the load: {made[0]} ({rate:g}/s offered)")


def measure(url: str, args) -> dict:
    """Seed `url`, start Redis and gunicorn, log the sessions in, run the steps; stops what it started."""
    opps, runs = args.scale
    pages, keys = seed(url, opps, runs)
    redis, redis_proc = redis_url()
    log = Path(tempfile.mkdtemp(prefix="oppflow-web-load-")) / "gunicorn.log"
    proc = None
    try:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis, **keys, "PYTHONPATH": str(ROOT),
               "RQ_QUEUE": f"web-load-{os.getpid()}",
               # 16 logins from one address in a few seconds: above the production limit of 10 per minute.
               "LOGIN_RATE_LIMIT": "1000 per minute"}
        proc, base = start_gunicorn(env, log)
        users = sessions(base, args.clients, pages, LOGINS["scale" if opps else "demo"])
        with writer(url, args.writes):
            figures = asyncio.run(load(base, users, pages, args.rates, args.seconds))
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited during the load; its log ends:\n{log.read_text()[-3000:]}")
        return figures
    finally:
        if proc:
            stop(proc)
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait()
        shutil.rmtree(log.parent, ignore_errors=True)


def worse(figures: list[dict]) -> dict:
    """The issue's figures: the lower capacity, the more errors, per page too."""
    pages = figures[0]["capacity_by_page"]
    return {"capacity_rps": min(f["capacity_rps"] for f in figures),
            "load_errors": max(f["load_errors"] for f in figures),
            "capacity_by_page": {p: min(f["capacity_by_page"][p] for f in figures) for p in pages},
            "offered_rps": {r: min(f["offered_rps"].get(r, float("inf")) for f in figures)
                            for r in figures[0]["offered_rps"]}}


def scale(text: str) -> tuple[int, int]:
    """--scale: a name of SCALES or OPPS,RUNS."""
    if text in SCALES:
        return SCALES[text]
    opps, runs = (int(n) for n in text.split(","))
    return opps, runs


def _interrupt(signum, _frame):
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL measured after SQLite (default: TEST_DATABASE_URL)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL (--pg) alone")
    parser.add_argument("--rates", type=lambda s: [float(r) for r in s.split(",")], default=[40, 80, 160, 240])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16, help="sessions: admins and partners alternately")
    parser.add_argument("--writes", type=float, default=0,
                        help="commits a second made beside the load (as busy workers make): kept pages go stale")
    parser.add_argument("--scale", type=scale, default=SCALES["medium"],
                        help="demo (the demo data alone, as `make run` serves it), small, medium (default: "
                             "20000 opportunities, 100000 runs on top of the demo), large, or OPPS,RUNS")
    args = parser.parse_args()
    args.rates = [int(r) if r == int(r) else r for r in sorted(args.rates)]
    # Ctrl-C and `kill` clean up (gunicorn's group stopped, schemas dropped, temporary files removed), even
    # when SIGINT was inherited as ignored (a background job), as run.py does.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    figures = []
    if not args.no_sqlite:
        sqlite_url = database_url(None)
        try:
            started = time.perf_counter()
            figures.append(measure(sqlite_url, args))
            print(f"sqlite: {json.dumps(figures[-1])} ({time.perf_counter() - started:.0f} s with the seed)",
                  flush=True)
        finally:
            shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if args.pg:
        try:
            started = time.perf_counter()
            figures.append(measure(database_url(args.pg), args))
            print(f"postgresql: {json.dumps(figures[-1])} ({time.perf_counter() - started:.0f} s with the seed)")
        finally:
            drop_schemas()
    print(json.dumps(worse(figures)))


if __name__ == "__main__":
    sys.exit(main())
