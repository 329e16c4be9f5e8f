"""No request body makes the app answer 5xx: garbage posted to every POST route comes back as a form with
messages (422), a clear 4xx, or a redirect — never a 500 or a traceback.

The walk enumerates app.url_map, so a route added later is covered without editing this file. Each route
is posted to with the fields its page sends (read from the HTML of every page the user can open: forms by
action / hx-post, hx-post buttons with their hx-vals, and the fields an htmx select swaps in, such as the
action kinds'), each field filled with one kind of garbage at a time.
"""

import pytest

from tests.walk_support import SEEDED_NAME, Field, Target, build_url, read_page, seed

# POST routes not posted to, and why.
SKIP = {
    "auth.logout": "ends the session the walk runs in; it reads no field",
    "auth.logout_everywhere": "ends every session of the user, the walk's too; it reads no field",
    "public.hook": "signed webhook: an unsigned body is refused before any field is read (tests/test_webhooks.py)",
}
# Posted last: they remove or hide the records the other routes' URLs name.
DESTRUCTIVE = ("delete", "archive", "deactivate")

LONG = "x" * 100_000
GARBAGE = {
    "huge integer": "9" * 400,
    "negative": "-1",
    "non-ASCII": "Ω≈ç… ñandú 日本語 🙂",
    "very long": LONG,
    "empty": "",
    "wrong type": "abc",
    "duplicate name": SEEDED_NAME,
    "malformed date": "2024-13-45T25:61",
}
HTMX_GARBAGE = ("empty", "non-ASCII")


def _get_pages(app, client, world):
    """Every GET page the user can open (200), read for its forms and links."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = build_url(rule, world)
        response = client.get(url, headers={"HX-Request": "true"} if "kind" in rule.endpoint else {})
        assert response.status_code < 500, f"GET {url} gave {response.status_code}"
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[url] = read_page(response.get_data(as_text=True), url)
    return pages


def _targets(client, pages) -> dict[str, Target]:
    """Every place the pages post to, by path; a select with hx-get adds the fields each option swaps in."""
    targets: dict[str, Target] = {}
    for reader in pages.values():
        for path, target in reader.targets.items():
            merged = targets.setdefault(path, Target(path))
            for f in target.fields.values():
                merged.add(f)
    for target in targets.values():
        for driver in [f for f in target.fields.values() if f.kind == "select" and f.hx_get]:
            for option in [o for o in driver.options if o]:
                fragment = client.get(driver.hx_get, query_string={driver.name: option},
                                      headers={"HX-Request": "true"})
                assert fragment.status_code < 500, f"GET {driver.hx_get}?{driver.name}={option}"
                extras = read_fragment_fields(fragment.get_data(as_text=True))
                target.driven[(driver.name, option)] = [f.name for f in extras]
                for extra in extras:
                    target.add(extra)
    return targets


def read_fragment_fields(html: str) -> list[Field]:
    """The fields of a fragment that is not itself a form (the kind's own fields)."""
    reader = read_page(f'<form method="post" action="/fragment">{html}</form>')
    return list(reader.targets["/fragment"].fields.values())


def _bodies(target: Target | None):
    """(label, form data) pairs. First each kind of garbage in every field at once. Then, from what the
    page would post untouched, one field at a time gets a huge integer or an existing name, so the garbage
    gets past the other fields' checks to the query or the save behind it. An htmx select's options (the
    action kinds) are each chosen in turn, with garbage in every field and then in each of its own fields."""
    fields = list(target.fields.values()) if target else [Field("name", "text"), Field("id", "number")]
    baseline = {f.name: f.valid() for f in fields}
    driven = target.driven if target else {}
    for (driver, option), own in [((None, None), [f.name for f in fields]), *driven.items()]:
        chosen = f", {driver}={option}" if driver else ""
        for label, junk in GARBAGE.items():
            # Long text stays out of ticked boxes so the body stays under the size limit.
            data = {f.name: junk for f in fields if label != "very long" or f.kind not in {"checkbox", "radio"}}
            if driver:
                data[driver] = option
            yield label + chosen, data
        for name in own:
            if name == driver:
                continue
            for label in ("huge integer", "duplicate name"):
                data = {**baseline, name: GARBAGE[label]}
                if driver:
                    data[driver] = option
                yield f"{label} in {name} only{chosen}", data


def _walk(app, client, world, user_key: str):
    client.login(world.users[user_key])
    pages = _get_pages(app, client, world)
    targets = _targets(client, pages)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint not in SKIP]
    rules.sort(key=lambda r: any(word in r.endpoint for word in DESTRUCTIVE))
    failures, answered = [], {}
    for rule in rules:
        url = build_url(rule, world)
        assert url, f"cannot build {rule}"
        target = targets.get(url)
        for label, data in _bodies(target):
            # htmx gets other templates (fragments) from the same validation: two kinds of garbage in every
            # field reach them (one a form refuses, one it may take); each kind reaches the page templates.
            both = label in HTMX_GARBAGE and "=" not in label
            for headers in ({}, {"HX-Request": "true"}) if both else ({},):
                try:
                    response = client.post(url, data=data, headers=headers)
                except Exception as err:  # the test app propagates what no handler caught: a 500 to a user
                    failures.append(f"{type(err).__name__} POST {url} ({label}, htmx={bool(headers)}): {err!s:.200}")
                    continue
                body = response.get_data(as_text=True)
                if response.status_code >= 500 or "Traceback (most recent call last)" in body:
                    failures.append(f"{response.status_code} POST {url} ({label}, htmx={bool(headers)})")
                answered.setdefault(rule.endpoint, set()).add(response.status_code)
        if rule.endpoint.startswith("auth."):
            client.login(world.users[user_key])  # a garbage login or language post must not end the walk
    return failures, answered, targets


@pytest.mark.parametrize("user_key", ["admin", "partner"])
def test_garbage_to_every_post_route_never_gives_5xx(app, client, make, user_key):
    world = seed(make)
    failures, answered, targets = _walk(app, client, world, user_key)
    assert not failures, "\n".join(failures)
    assert len(answered) >= 50, sorted(answered)
    if user_key == "admin":
        # The walk reached the routes (real ids, real forms), rather than 404 everywhere.
        reached = {e for e, codes in answered.items() if codes - {404}}
        missing = {e for e in answered if e not in reached} - {"history.retry", "opportunities.assignment_reject",
                                                              "opportunities.assignment_accept"}
        assert not missing, f"every post to these answered 404: {sorted(missing)}"
        # The forms were found: the designer's action form brings each kind's own fields.
        action_form = next(t for path, t in targets.items() if "/substates/" in path and path.endswith("/actions/new"))
        assert "kind" in action_form.fields and len(action_form.fields) > 10, sorted(action_form.fields)


# -- the JSON API (SPEC P4): garbage JSON bodies and query strings with a write token ----------------------

JSON_GARBAGE = {
    "huge integer": 9 ** 400, "negative": -1, "float": 1e308, "non-ASCII": "Ω≈ç… ñandú 日本語 🙂",
    "very long": "x" * 100_000, "empty": "", "wrong type": "abc", "null": None, "list": [1, "a"],
    "object": {"a": {"b": []}}, "boolean": True, "malformed date": "2024-13-45T25:61", "duplicate name": SEEDED_NAME,
}
RAW_BODIES = {"not JSON": b"{not json", "empty body": b"", "JSON list": b"[]", "JSON null": b"null",
              "JSON string": b'"x"', "JSON number": b"12", "nested deep": b"[" * 5000 + b"]" * 5000}


def _operation_inputs(spec: dict) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
    """{(path template in Flask's spelling, method): (body property names, query parameter names)} from the
    OpenAPI document, so each operation's own fields get the garbage."""
    import re

    schemas = spec.get("components", {}).get("schemas", {})

    def props(schema: dict) -> list[str]:
        if "$ref" in schema:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return list(schema.get("properties", {}))

    found = {}
    for path, item in spec.get("paths", {}).items():
        flask_path = re.sub(r"\{(\w+)\}", r"<\1>", path)
        for method, op in item.items():
            if not isinstance(op, dict) or method == "parameters":
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            query = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            found[(flask_path, method.upper())] = (props(body), query)
    return found


@pytest.mark.parametrize("user_key", ["admin", "partner"])
def test_garbage_to_every_api_route_gives_4xx_never_5xx(app, client, make, user_key):
    """Every /api/v1 rule, with real ids of the seed and a write token: garbage JSON (each kind in every field
    the document names, then one field at a time, then bodies that are not an object) and garbage query
    strings answer 4xx problem+json (or a success), never 5xx."""
    from flask import g

    from services import api_tokens

    world = seed(make)
    _, plaintext = api_tokens.create_token(world.users[user_key], "walk", {"read", "write"}, 366)
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    from extensions import db

    db.session.commit()
    inputs = _operation_inputs(client.get("/api/openapi.json").json)
    headers = {"Authorization": f"Bearer {plaintext}"}
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    rules.sort(key=lambda r: "DELETE" in r.methods)  # last: it removes what the other URLs name
    failures, calls = [], 0

    def call(url, method, label, **kwargs):
        nonlocal calls
        g.pop("_login_user", None)
        try:
            response = client.open(url, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        except Exception as err:  # the test app propagates what no handler caught: a 500 to a client
            failures.append(f"{type(err).__name__} {method} {url} ({label}): {err!s:.200}")
            return None
        calls += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {method} {url} ({label})")
        elif response.status_code >= 400 and response.mimetype != "application/problem+json":
            failures.append(f"{response.status_code} {method} {url} ({label}) is {response.mimetype}")
        return response

    for rule in rules:
        url = build_url(rule, world)
        assert url, f"cannot build {rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=lambda m: m == "DELETE"):
            body_fields, query = inputs.get((rule.rule, method), ([], []))
            for label, junk in JSON_GARBAGE.items():
                if query:
                    call(url, method, f"{label} in the query", query_string={q: str(junk) for q in query},
                         **({} if method == "GET" else {"json": {}}))
                if method == "GET":
                    continue
                call(url, method, label, json={f: junk for f in body_fields or ["name", "id"]})
                for name in body_fields:
                    if label in ("huge integer", "duplicate name", "wrong type", "null"):
                        call(url, method, f"{label} in {name} only", json={name: junk})
            if method != "GET":
                for label, raw in RAW_BODIES.items():
                    response = call(url, method, label, data=raw, headers={"Content-Type": "application/json"})
                    if response is not None and body_fields and response.status_code < 400:
                        failures.append(f"{response.status_code} {method} {url} ({label}) accepted")
                call(url, method, "form-encoded", data={"name": "x"})
    assert not failures, "\n".join(failures)
    assert rules and calls >= 10
