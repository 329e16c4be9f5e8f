"""Errors of the JSON API as `application/problem+json` (RFC 9457), titled in the request's language.

The app's one error handler (blueprints/errors.py) sends every error under /api/ here, so a 404 of the
scoping helper, a 422 of a service, a 429 of the rate limiter and a webargs validation error all answer in
the same shape: {type, title, status, detail, errors?}.
"""

from __future__ import annotations

import json

from flask import current_app, request
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

PROBLEM_JSON = "application/problem+json"

# marshmallow's own messages, so that a validation error reads in the request's language too.
_MARSHMALLOW = {
    "Missing data for required field.": _l("Missing data for required field."),
    "Unknown field.": _l("Unknown field."),
    "Field may not be null.": _l("Field may not be null."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid boolean.": _l("Not a valid boolean."),
    "Not a valid datetime.": _l("Not a valid datetime."),
    "Not a valid date.": _l("Not a valid date."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid mapping type.": _l("Not a valid mapping type."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid value.": _l("Invalid value."),
    "Special numeric values (nan or infinity) are not permitted.":
        _l("Special numeric values (nan or infinity) are not permitted."),
    "Shorter than minimum length {min}.": _l("Shorter than minimum length {min}."),
}


def _titles() -> dict[int, str]:
    """Each status's title (RFC 9457 §4.2.1: the status phrase, which may be localized)."""
    return {
        400: _("Bad request"), 401: _("Unauthorized"), 403: _("Forbidden"), 404: pgettext("API error", "Not found"),
        405: _("Method not allowed"), 409: _("Conflict"), 413: _("Content too large"),
        415: _("Unsupported media type"), 422: _("Unprocessable content"), 429: _("Too many requests"),
        500: _("Internal server error"), 503: _("Service unavailable"),
    }


def _details() -> dict[int, str]:
    """What each status means for an API call, where the pages' wording would not fit."""
    return {
        404: _("No such resource, or the token's user may not see it."),
        405: _("This method is not allowed on this resource."),
        422: _("Please correct the fields listed."),
    }


def api_request() -> bool:
    """Whether the current request is one of the API's (its errors are problems, not pages)."""
    return request.path.startswith("/api/")


def _translate(messages):
    """webargs/marshmallow messages (a string, a list or nested dicts) in the request's language."""
    if isinstance(messages, dict):
        return {str(k): _translate(v) for k, v in messages.items()}
    if isinstance(messages, list | tuple):
        return [_translate(m) for m in messages]
    text = str(messages)
    return str(_MARSHMALLOW.get(text, text))


def problem(status: int, title: str, detail: str | None = None, errors=None, headers: dict | None = None):
    """A problem response: `title` says what kind of problem, `detail` this occurrence, `errors` per field."""
    body = {"type": "about:blank", "title": str(title), "status": status}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = _translate(errors)
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers["Content-Language"] = str(get_locale() or "en")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def for_status(status: int, detail: str | None = None, errors=None, headers: dict | None = None):
    """A problem titled by its status; `detail` defaults to the status's meaning."""
    detail = detail or _details().get(status)
    return problem(status, _titles().get(status, _titles()[500]), detail, errors, headers)


def from_http_exception(err, default_detail: str):
    """A werkzeug HTTPException (maybe carrying webargs' messages in `data`) as a problem."""
    data = getattr(err, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    # webargs nests messages by location ({"json": {...}}); a client wants the fields.
    if isinstance(errors, dict) and len(errors) == 1 and next(iter(errors)) in ("json", "query", "form", "path"):
        errors = next(iter(errors.values()))
    headers = dict(data.get("headers") or {})
    if err.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="oppflow"')
    detail = data.get("message") or (default_detail if errors is None else None)
    return for_status(err.code or 500, detail, errors, headers)
