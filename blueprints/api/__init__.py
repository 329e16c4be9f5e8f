"""The JSON API (SPEC P4) under /api/v1: bearer tokens, scopes, a rate limit per token, problem+json
errors, and an OpenAPI 3.1 document generated from the marshmallow schemas by flask-smorest.

Every resource module makes its blueprint with `api_blueprint`, which authenticates the token before each
request and makes its user the request's `current_user` — so the services and the one scoping helper
(services/access.py) apply to a token exactly as to that user's pages. Session cookies are never read
here: the API cannot be driven from a browser tab without a token, so it needs no CSRF token either.
"""

from __future__ import annotations

import hashlib

from flask import Flask, abort, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, Blueprint

from extensions import csrf, limiter
from services import api_tokens
from services.access import get_opportunity_or_404

from .problems import PROBLEM_JSON
from .schemas import ProblemSchema, decimal_string_property

API_PREFIX = "/api/v1"


class OppflowApi(Api):
    """flask-smorest's Api with errors documented as problem+json; the app's own error handler
    (blueprints/errors.py) renders them, for the API's paths only."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """The app's handler serves the API too (blueprints/errors.py → problems.py)."""

    def register_blueprint(self, blp, **options):
        """Register a resource, its operations tagged with a readable title ("Opportunities", not the
        blueprint's endpoint name)."""
        super().register_blueprint(blp, **options)
        title = getattr(blp, "tag_title", None)
        if not title:
            return
        # apispec keeps tags and paths in these until it writes the document; two resources under one
        # path (opportunities and their substates) share one tag.
        tags = self.spec._tags
        taken = any(tag["name"] == title for tag in tags)
        for tag in list(tags):
            if tag["name"] == blp.name:
                if taken:
                    tags.remove(tag)
                else:
                    tag["name"] = title
        for operations in self.spec._paths.values():
            for operation in operations.values():
                if isinstance(operation, dict) and blp.name in operation.get("tags", ()):
                    operation["tags"] = [title if t == blp.name else t for t in operation["tags"]]

    def _register_responses(self):
        saved = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


def _token_key() -> str:
    """The rate limit's key: the token (hashed, never stored plain), else the caller's address."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "api:" + hashlib.sha256(value.strip().encode()).hexdigest()[:32]
    return "api-anon:" + (request.remote_addr or "")


def authenticate() -> None:
    """Before every API request: a usable bearer token whose scopes allow the method, else 401 / 403."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    token = api_tokens.authenticate(value.strip(), request.remote_addr) if scheme.lower() == "bearer" else None
    if token is None:
        abort(401, description=_l("A valid API token is needed: send it as \"Authorization: Bearer <token>\"."))
    if not api_tokens.allows(token, request.method):
        abort(403, description=_l("This token may only read; create a token with the write scope to make changes."))
    # Flask-Login's current_user for this request only; nothing is written to a session.
    g._login_user = token.user
    g.api_token = token
    # Scope before the body is read: an opportunity the user may not see is a 404 whatever was sent, never
    # a 422 about the body (the same answer as for an id that does not exist).
    for arg, find in _scoped_lookups().items():
        if (record_id := (request.view_args or {}).get(arg)) is not None:
            find(record_id)


def _scoped_lookups() -> dict:
    """The URL arguments that name a scoped record, each with the one lookup the pages use (404 if unseen)."""
    from services import tasks as task_svc
    from services.history import runs_query

    return {
        "opportunity_id": get_opportunity_or_404,
        "task_id": lambda i: task_svc.get_task_or_404(i, token_user()),
        "run_id": lambda i: runs_query.run_or_404(i, token_user()),
    }


def token_user():
    """The user the request's token acts as."""
    return g._login_user


def refuse_deep_json() -> None:
    """A JSON body nested past the parser's recursion limit is a 400, not the RecursionError (a 500) that
    json.loads raises before webargs could refuse it."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    try:
        request.get_json(silent=True)
    except RecursionError:
        abort(400, description=_l("The JSON body is nested too deeply."))


def api_blueprint(name: str, import_name: str, path: str, description: str) -> Blueprint:
    """A resource's blueprint under /api/v1/<path>: token authentication, rate limit, no CSRF (no cookies)."""
    blp = Blueprint(name, import_name, url_prefix=f"{API_PREFIX}/{path}", description=description)
    blp.tag_title = path.split("/")[0].replace("-", " ").capitalize()
    blp.before_request(authenticate)
    blp.before_request(refuse_deep_json)
    csrf.exempt(blp)
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_token_key)(blp)
    return blp


def register_api(app: Flask) -> None:
    """Bind the API, its resources and its documents to the app."""
    from . import (
        customers,
        docs,
        flows,
        notifications,
        opportunities,
        opportunity_fields,
        runs,
        substates,
        tasks,
    )

    app.config.setdefault("API_TITLE", "oppflow API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # One Api per app (tests build many apps); the resource blueprints are module-level, as page ones are.
    api = OppflowApi(app, spec_kwargs={
        "info": {"description": "The oppflow JSON API. Authenticate with a token from Account → API tokens: "
                                "`Authorization: Bearer <token>`. Errors are application/problem+json (RFC 9457)."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.ma_plugin.converter.add_attribute_function(decimal_string_property)
    for module in (opportunities, opportunity_fields, substates, customers, runs, tasks, flows, notifications):
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
