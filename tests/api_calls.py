"""Calling the JSON API in tests: a bearer token for a user, and problem+json checks."""

from extensions import db
from services.api_tokens import create_token


def auth(user, scopes=("read", "write"), lang: str | None = None) -> dict:
    """Headers with a fresh token of `user` (and an Accept-Language, when given)."""
    _token, plaintext = create_token(user, "test", set(scopes), 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    if lang:
        headers["Accept-Language"] = lang
    return headers


def problem(response, status: int) -> dict:
    """The problem+json body of a refused call, after checking its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def forget_locale_per_request(app) -> None:
    """The test's app context outlives requests (g is shared): forget the language the last request cached, as
    a served request (an app context of its own) always does."""
    from flask_babel import refresh

    app.before_request(refresh)
