"""Application factory: extensions, blueprints, locale, security headers, error pages, CLI."""

import gc
import logging

from flask import Flask, has_request_context, request, session, url_for
from flask_babel import format_currency, format_date, get_locale
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from config import Config
from extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from services import field_values
from services.validation import MAX_ID


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in every route: a number no record can have (past MAX_ID) matches nothing, a 404,
    instead of reaching a query that SQLite cannot bind (OverflowError, a 500)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def select_locale() -> str:
    """The user's setting, else the language chosen in this session, else Accept-Language, else en."""
    langs = ("it", "es", "en")
    if not has_request_context():  # jobs and CLI: callers use force_locale for the recipient's language
        return "en"
    if request.path.startswith("/api/") and request.headers.get("Accept-Language"):
        # An integration says per request which language it wants its messages in.
        return request.accept_languages.best_match(langs) or "en"
    if current_user and current_user.is_authenticated and current_user.language in langs:
        return current_user.language
    if session.get("lang") in langs:
        return session["lang"]
    return request.accept_languages.best_match(langs) or "en"


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return None


def frozen(app: Flask) -> Flask:
    """`app`, after moving every object alive now to the garbage collector's permanent generation. For a
    server or worker process that has loaded the app and keeps it for its life (wsgi.py, worker.py), not
    for tests, which build many apps.

    Why: a process serving the demo pages holds ~200,000 tracked objects (SQLAlchemy's mappers and cached
    statements, Jinja's templates, Babel's locale data) that never become garbage, yet CPython's full
    collection walks them all: measured, one pass cost 45–115 ms, landing on whichever request was running
    (a p99 spike under load). Frozen objects are skipped; what requests and jobs allocate is collected as before
    (the Python documentation recommends gc.freeze() for pre-loaded servers)."""
    gc.collect()  # start-up's garbage is freed first rather than kept for good
    gc.freeze()
    return app


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory="migrations", render_as_batch=True)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    _configure_login()
    _configure_sqlite(app)

    app.url_map.converters["int"] = RecordIdConverter
    from blueprints import register_blueprints
    from engine import triggers
    from engine.kinds import load_plugins
    from engine.trigger_types import subscribe_all

    load_plugins(app.config["OPPFLOW_KIND_PLUGINS"])
    triggers.subscribe()  # the engine listens to the services' events (services.events)
    subscribe_all()  # …and so does each trigger type (engine.trigger_types)
    from engine import activity_completion

    activity_completion.subscribe()  # M5: scheduled activities complete when their substate closes
    from engine import webhooks_out

    webhooks_out.subscribe()  # outbound webhooks: a delivery per subscription to each event
    from services import flow_versions

    flow_versions.install()  # D12: every flow change is recorded from the session's flushes

    register_blueprints(app)
    from blueprints.api import register_api

    register_api(app)
    _register_template_helpers(app)
    _register_security_headers(app)

    from blueprints.errors import register_error_handlers

    register_error_handlers(app)

    from cli import register_cli

    register_cli(app)
    logging.getLogger("oppflow").setLevel(logging.INFO)
    return app


def _configure_login() -> None:
    from flask_babel import lazy_gettext as _l


    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from services import sessions

        return sessions.load_user(user_id)


def _configure_sqlite(app: Flask) -> None:
    """WAL and a busy timeout: web and worker write the same SQLite file (docs/architecture.md, measured 2.6x)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    # Listened to on every Engine, once per process: a listener added per app (tests build thousands) would
    # run its PRAGMAs once per app built so far on every new connection.
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: durable across process crashes (the case the engine guards), one fsync per
        # checkpoint instead of per commit.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Reads through a memory map rather than a read() per page: the lists' per-row probes of
        # field_value (custom-field filters) ran 5x faster at 100,000 opportunities (bench/process.py).
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()


def _register_template_helpers(app: Flask) -> None:
    from models.accounts import LANGUAGE_NAMES
    from services.date_format import datetime_text
    from services.locale_input import date_input_value, date_placeholder

    @app.template_filter("money")
    def money(value) -> str:
        return format_currency(value or 0, app.config["CURRENCY"])

    @app.template_filter("dt")
    def dt(value) -> str:
        return datetime_text(value) if value else ""

    @app.template_filter("d")
    def d(value) -> str:
        return format_date(value, "medium") if value else ""

    @app.template_global()
    def url_with_args(endpoint: str, **changes) -> str:
        """The current URL's query with some arguments changed (pagination keeps the filters)."""
        # Every value of a repeated argument (the opportunity list's cols=a&cols=b), not only the first.
        args = {**request.view_args, **request.args.to_dict(flat=False), **changes}
        return url_for(endpoint, **args)

    app.add_template_global(date_input_value)
    app.add_template_global(date_placeholder)
    app.add_template_global(field_values.input_text, "field_input_text")
    app.add_template_global(field_values.max_length, "field_max_length")
    app.add_template_global(field_values.option_label, "field_option_label")

    @app.context_processor
    def inject():
        return {"current_locale": str(get_locale()), "language_names": LANGUAGE_NAMES}


def _register_security_headers(app: Flask) -> None:
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Pages differ by user and language: never cached by shared caches.
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
            response.vary.add("Cookie")
        return response
