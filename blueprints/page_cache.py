"""Rendered pages kept while nothing they show can have changed (the lists and pages users open most).

A page is rendered from the database's rows, the user, their session and language and the request. Reading it
again while no transaction has committed anywhere in the database gives the same text, so each web process
keeps the last text of each (page, user session) and serves it again, instead of querying and rendering it
again, as long as the database's *data version* is unchanged:

- PostgreSQL: the current snapshot (`pg_current_snapshot()`: the oldest running transaction, the next
  transaction id and those running). Two statements with the same snapshot see the same rows; any commit of a
  transaction that wrote changes it, whoever wrote (another web process, a worker, psql).
- SQLite: `PRAGMA data_version` of a connection this process keeps for it alone and never writes with:
  SQLite changes it whenever another connection, of any process, commits a change.

The text is kept per user *session* (its cookie's token and CSRF token are in the page) and per locale, time
zone, address (path, query, host) and htmx headers (a fragment is not the page), and for a minute at most
(30 to 60 s, at random, so that pages are not all rendered again at once): what a page shows from the clock
("overdue", a due time) is never more than a minute old, and neither is the CSRF token's signature.
Access is unchanged: the user is loaded and checked before a kept page is
looked up, and a revoked session or permission is a committed write, which changes the version.

Only views that read and never write may use it (`@cached_page`); nothing is kept for a request that carries
flashed messages, a view that changed the session (a new CSRF token, a flash) or answered other than 200 HTML.
Each process keeps at most PAGE_CACHE_MB of text (least recently used first out); 0 turns it off. With the
workers busy, the database changes every few milliseconds and pages are rendered as before: the cache costs
one cheap statement then, and spares the rendering of the many reads between writes.
"""

import hashlib
import logging
import os
import random
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps

from flask import current_app, request, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from sqlalchemy import text

from extensions import db

log = logging.getLogger("oppflow.page_cache")

# How long a kept page may show what it computed from the clock (and its CSRF token's time): at most
# MAX_AGE_S, each page for a random part of it at least MIN_AGE_S, so that pages kept together are not all
# rendered again in the same second (measured: with a common minute, the first second of each minute held
# every page back behind 300 renderings, p99 2.9 s at 160 requests/s).
MIN_AGE_S, MAX_AGE_S = 30.0, 60.0


@dataclass(frozen=True)
class _Page:
    version: str
    body: bytes
    headers: list[tuple[str, str]]
    until: float = float("inf")  # time.monotonic() after which it is rendered again


class _Store:
    """Least-recently-used pages, bounded by the bytes of their text."""

    def __init__(self) -> None:
        self.pages: OrderedDict[bytes, _Page] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: bytes, version: str) -> _Page | None:
        with self.lock:
            page = self.pages.get(key)
            if page is None or page.version != version or time.monotonic() > page.until:
                return None
            self.pages.move_to_end(key)
            return page

    def put(self, key: bytes, page: _Page, limit: int) -> None:
        if len(page.body) > limit // 4:  # one huge page must not push out every other
            return
        with self.lock:
            old = self.pages.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self.pages[key] = page
            self.size += len(page.body)
            while self.size > limit:
                _, dropped = self.pages.popitem(last=False)
                self.size -= len(dropped.body)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
            self.size = 0


_watchers: dict[tuple[int, str], sqlite3.Connection] = {}  # per process and SQLite file
_watchers_lock = threading.Lock()


def _store() -> _Store:
    """This app's pages (kept on the app: tests build many, and each must start with none)."""
    store = current_app.extensions.get("oppflow_page_cache")
    if store is None:
        store = current_app.extensions["oppflow_page_cache"] = _Store()
    return store


def clear() -> None:
    """Forget this app's kept pages (a test that changes what the code shows, not the data)."""
    _store().clear()


def data_version() -> str | None:
    """The database's data version now; None where it cannot be known (an in-memory SQLite database) or
    where this request's own transaction holds uncommitted writes (they are in no version)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        snapshot, writing = db.session.execute(
            text("SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()")).one()
        return None if writing is not None else snapshot
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    # sqlite3 opens a transaction for a write only, and the session's reads run outside one (each sees the
    # latest commit): a transaction open on the request's connection means uncommitted writes.
    if db.session.connection().connection.dbapi_connection.in_transaction:
        return None
    key = (os.getpid(), path)  # a connection is not shared across a fork (gunicorn's workers)
    with _watchers_lock:
        try:
            conn = _watchers.get(key)
            if conn is None:
                # Autocommit (isolation_level=None): an open read transaction would freeze the version it
                # reads. A short busy wait: when the file cannot be read at once, the page is rendered.
                conn = _watchers[key] = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                                        timeout=0.2)
            return f"{path}:{conn.execute('PRAGMA data_version').fetchone()[0]}"
        except sqlite3.Error as err:
            log.warning("page cache: SQLite data version unreadable (%s); the page is rendered", err)
            stale = _watchers.pop(key, None)
            if stale is not None:
                stale.close()
            return None


def _key() -> bytes:
    """What the page's text depends on besides the rows (see the module's docstring)."""
    parts = [request.host_url, request.full_path, str(current_user.get_id()), str(session.get("sid")),
             str(session.get("csrf_token")), str(get_locale()), str(get_timezone())]
    parts += sorted(f"{k}={v}" for k, v in request.headers.items() if k.lower().startswith("hx-"))
    # Hashed: the session's token is a secret and stays out of the process's memory as such.
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def _cacheable_request() -> bool:
    return (request.method == "GET" and not session.get("_flashes")
            and not (db.session.new or db.session.dirty or db.session.deleted))  # unflushed changes


def cached_page(view):
    """Serve the view's last text for this request while the data version is unchanged (read-only views
    only; put it under @login_required so that access is checked first)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        limit = int(current_app.config.get("PAGE_CACHE_MB", 0) * 1024 * 1024)
        if not limit or not _cacheable_request():
            return view(*args, **kwargs)
        version = data_version()
        if version is None:
            return view(*args, **kwargs)
        key = _key()
        store = _store()
        page = store.get(key, version)
        if page is not None:
            return current_app.response_class(page.body, headers=page.headers)
        response = current_app.make_response(view(*args, **kwargs))
        if (response.status_code == 200 and response.mimetype == "text/html" and not session.modified
                and not response.is_streamed):
            headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "set-cookie")]
            until = time.monotonic() + random.uniform(MIN_AGE_S, MAX_AGE_S)
            store.put(key, _Page(version, response.get_data(), headers, until), limit)
        return response

    return wrapper
