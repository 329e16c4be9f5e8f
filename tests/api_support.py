"""Helpers for the API's tests: bearer tokens for users, problem+json checks and row counts."""

import flask_babel
from sqlalchemy import func, select

from extensions import db
from services.api_tokens import create_token


def bearer(user, scopes=("read", "write"), lang: str | None = None) -> dict:
    """Headers that call the API as `user` with a fresh token of these scopes (and Accept-Language)."""
    _token, plaintext = create_token(user, "t", set(scopes), 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {plaintext}"}
    if lang:
        headers["Accept-Language"] = lang
    return headers


def forget_locale_per_request(app) -> None:
    """The test's app context outlives requests (g is shared): forget the language the last request cached, as
    a served request (an app context of its own) always does (tests/conftest.py registers the refresh)."""
    app.config["TEST_FORGET_LOCALE"] = True


def listed_ids(client, path: str, headers: dict, query: str = "", limit: int = 3) -> list[int]:
    """Every id a list endpoint gives for the query, following its cursors to the last page."""
    ids, cursor = [], ""
    while True:
        response = client.get(f"{path}?limit={limit}&{query.lstrip('&')}{cursor}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        if not body["next_cursor"]:
            return ids
        cursor = f"&cursor={body['next_cursor']}"


def with_lang(headers: dict, lang: str) -> dict:
    return {**headers, "Accept-Language": lang}


def problem(response, status: int) -> dict:
    """The problem+json body of a refusal, after checking its status and media type."""
    assert response.status_code == status, (response.status_code, response.data[:600])
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def count(model) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


class ApiClient:
    """The test client for API calls. The test's app context serves every request (conftest), so the locale
    Flask-Babel chose for one request would stick to the next: each call forgets it, as a real request does."""

    def __init__(self, client) -> None:
        self.client = client

    def _call(self, method: str, url: str, **kwargs):
        flask_babel.refresh()
        return self.client.open(url, method=method, csrf=False, **kwargs)

    def get(self, url, **kw):
        return self._call("GET", url, **kw)

    def post(self, url, **kw):
        return self._call("POST", url, **kw)

    def patch(self, url, **kw):
        return self._call("PATCH", url, **kw)

    def put(self, url, **kw):
        return self._call("PUT", url, **kw)
