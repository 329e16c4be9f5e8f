"""`make run` (run.py): links the app writes point where it actually serves, and it prints every demo login."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import run

ROOT = Path(__file__).resolve().parent.parent


def test_public_url_is_the_served_address_unless_the_environment_sets_it():
    assert run.public_url({}, "127.0.0.1", 5003) == "http://127.0.0.1:5003"
    assert run.public_url({"PUBLIC_URL": ""}, "127.0.0.1", 5003) == "http://127.0.0.1:5003"
    # Production keeps its own setting.
    assert run.public_url({"PUBLIC_URL": "https://crm.example.com"}, "127.0.0.1", 5003) == "https://crm.example.com"
    env = run.child_env({"REDIS_URL": "redis://x/0"}, "127.0.0.1", 5007)
    assert env == {"REDIS_URL": "redis://x/0", "PUBLIC_URL": "http://127.0.0.1:5007"}
    assert "127.0.0.1:5007" in run.web_command("127.0.0.1", 5007)


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the children's environment from /proc")
def test_make_run_serves_where_its_links_point_and_prints_every_demo_login(app, tmp_path):
    cfg = app.config
    with socket.socket() as taken:  # the preferred port is busy, so run.py must serve on another one
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        env = {**os.environ, "PORT": str(busy), "DATABASE_URL": cfg["SQLALCHEMY_DATABASE_URI"],
               "REDIS_URL": cfg["REDIS_URL"], "RQ_QUEUE": cfg["RQ_QUEUE"], "SECRET_KEY": cfg["SECRET_KEY"],
               "FILES_DIR": str(tmp_path / "files"), "PYTHONUNBUFFERED": "1"}
        env.pop("PUBLIC_URL", None)
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
        reader.start()
        out: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while not any("Press Ctrl-C" in line for line in out):
                assert proc.poll() is None and time.monotonic() < deadline, "".join(out)
                try:
                    out.append(lines.get(timeout=1))
                except queue.Empty:
                    pass
            banner = "".join(out)
            url = re.search(r"running at (http://127\.0\.0\.1:(\d+))/", banner)
            assert url and int(url[2]) != busy
            served = url[1]
            # Web server and worker both got the served address as PUBLIC_URL.
            children = _children(proc.pid)
            assert len(children) == 2
            assert all(_environ(pid).get("PUBLIC_URL") == served for pid in children)
            # And the app answers there.
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"{served}/login", timeout=2) as response:
                        assert response.status == 200
                    break
                except urllib.error.HTTPError:
                    raise
                except OSError:  # not listening yet
                    time.sleep(0.1)
            else:
                pytest.fail(f"nothing answers at {served}")
            for email in readme_logins():
                assert email in banner, f"make run does not print the README's demo login {email}"
        finally:
            proc.send_signal(signal.SIGTERM)  # run.py stops the web server and the worker it started
            proc.wait(30)
            reader.join(10)
            proc.stdout.close()


def readme_logins() -> list[str]:
    """Every address in README.md's "Demo logins" table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("Demo logins", 1)[1].split("\n\n", 2)[1]
    logins = re.findall(r"[\w.+-]+@example\.com", table)
    assert len(logins) >= 7, table
    return logins
