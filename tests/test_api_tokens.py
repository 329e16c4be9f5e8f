"""API tokens (SPEC P4): expiry, revocation, scopes, inactive users, last use, hashing at rest, the rate
limit, the CLI, translated problems, and the account page that lists, creates and revokes them."""

import re
from datetime import timedelta

import pytest
from flask import request
from flask_babel import refresh
from sqlalchemy import select, text

from blueprints.api import api_blueprint
from extensions import db
from models import ApiToken
from models.base import utcnow
from services import api_tokens

LIST = "/api/v1/opportunities"


def bearer(plaintext: str, **extra) -> dict:
    return {"Authorization": f"Bearer {plaintext}", **extra}


@pytest.fixture
def token(make):
    user = make.user("admin")
    token, plaintext = api_tokens.create_token(user, "t", {"read", "write"}, 30)
    db.session.commit()
    return token, plaintext


def test_a_valid_token_reads_and_a_missing_one_is_401_problem(client, token):
    _, plaintext = token
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 200
    for headers in ({}, bearer("opf_nope"), bearer("not-even-ours"), {"Authorization": f"Basic {plaintext}"}):
        response = client.get(LIST, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 401 and response.json["title"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_past_its_expiry_is_401(client, token):
    row, plaintext = token
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 401


def test_a_revoked_token_stops_at_once(client, token):
    row, plaintext = token
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 200
    api_tokens.revoke(row)
    db.session.commit()
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 401


# A resource that writes, made as every resource module makes its blueprint, so the scope check is tested
# on main too; the API's own write routes (merged later) are walked below as well.
probe = api_blueprint("api_probe_tokens", __name__, "probe-tokens", "Test only.")


@probe.route("", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def probe_view():
    return {"method": request.method}


@pytest.mark.own_app
def test_a_read_token_may_not_write(app, client, make):
    app.register_blueprint(probe)
    user = make.user("admin")
    _, read = api_tokens.create_token(user, "r", {"read"}, 30)
    _, write = api_tokens.create_token(user, "w", {"read", "write"}, 30)
    db.session.commit()
    assert client.get("/api/v1/probe-tokens", headers=bearer(read)).json == {"method": "GET"}
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        response = client.open("/api/v1/probe-tokens", method=method, json={}, headers=bearer(read))
        assert response.status_code == 403, method
        assert response.mimetype == "application/problem+json"
        assert "write" in response.json["detail"]
        assert client.open("/api/v1/probe-tokens", method=method, json={}, headers=bearer(write)).status_code == 200
    # A body nested past the JSON parser's recursion limit is a 400 problem (it was a RecursionError: a 500).
    deep = client.post("/api/v1/probe-tokens", data=b"[" * 5000 + b"]" * 5000, headers=bearer(write),
                       content_type="application/json")
    assert deep.status_code == 400 and deep.mimetype == "application/problem+json"
    # Every write route of the API (whatever resources are merged) refuses the read token before reading input.
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api_probe"):
            continue
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            response = client.open(url, method=method, json={}, headers=bearer(read))
            assert response.status_code == 403, f"{method} {url} gave {response.status_code}"


def test_the_token_of_an_inactive_user_is_401(client, token):
    row, plaintext = token
    row.user.active = False
    db.session.commit()
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 401


def test_last_use_is_recorded_with_its_address_at_most_once_a_minute(client, token):
    row, plaintext = token
    assert row.last_used_at is None
    client.get(LIST, headers=bearer(plaintext), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None and row.last_used_ip == "192.0.2.7"
    client.get(LIST, headers=bearer(plaintext), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    db.session.refresh(row)
    assert row.last_used_at == first  # a second call within the minute writes nothing
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    client.get(LIST, headers=bearer(plaintext), environ_base={"REMOTE_ADDR": "192.0.2.7"})
    db.session.refresh(row)
    assert row.last_used_at > first - timedelta(minutes=2)


def test_the_plaintext_is_nowhere_in_the_database(token):
    row, plaintext = token
    assert row.token_hash != plaintext and len(row.token_hash) == 64
    assert plaintext[:8] == row.prefix
    for table in db.metadata.sorted_tables:
        for values in db.session.execute(select(table)).all():
            assert not any(isinstance(v, str) and plaintext[8:] in v for v in values), table.name
    dumped = db.session.execute(text("SELECT * FROM api_token")).all()
    assert plaintext not in repr(dumped)


def test_the_rate_limit_per_token_answers_429_problem_with_retry_after(app, client, make):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    user = make.user("admin")
    _, one = api_tokens.create_token(user, "one", {"read"}, 30)
    _, other = api_tokens.create_token(user, "other", {"read"}, 30)
    db.session.commit()
    codes = [client.get(LIST, headers=bearer(one)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get(LIST, headers=bearer(one, **{"Accept-Language": "it"}))
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json["status"] == 429
    # Per token: another token of the same user, from the same address, is not limited.
    assert client.get(LIST, headers=bearer(other)).status_code == 200


def test_problem_titles_follow_accept_language(client, token):
    titles = {}
    for lang in ("it", "es", "en"):
        refresh()  # the test's app context serves every request: forget the last request's locale
        response = client.get(LIST, headers={"Authorization": "Bearer opf_wrong", "Accept-Language": lang})
        assert response.headers["Content-Language"] == lang
        titles[lang] = response.json["title"]
    assert titles["en"] == "Unauthorized"
    assert titles["it"] == "Non autorizzato" and titles["es"] == "No autorizado"


def test_cli_prints_a_working_token_and_refuses_unknown_users(app, client, make):
    user = make.user("partner", company=make.company("installer"), email="cli@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-api-token", "--email", "CLI@example.com", "--scope", "write",
                                 "--name", "ERP", "--days", "10"])
    assert result.exit_code == 0, result.output
    plaintext = re.search(r"opf_[\w-]{43}", result.output).group(0)
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 200
    row = db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert row.name == "ERP" and row.scope_set == {"read", "write"}
    refused = runner.invoke(args=["create-api-token", "--email", "nobody@example.com"])
    assert refused.exit_code != 0 and "nobody@example.com" in refused.output
    too_long = runner.invoke(args=["create-api-token", "--email", "cli@example.com", "--days", "400"])
    assert too_long.exit_code != 0
    assert db.session.execute(select(db.func.count(ApiToken.id))).scalar() == 1


# -- the account page ------------------------------------------------------------------------------------

def _create(client, **data):
    return client.post("/account/api-tokens", data={"name": "Website form", "scope": "read", "days": "90", **data})


@pytest.mark.parametrize("role", ["admin", "agent", "partner"])
def test_every_user_creates_lists_and_revokes_their_own_tokens(client, make, role):
    user = make.user(role, company=make.company("installer") if role == "partner" else None)
    client.login(user)
    assert "API tokens" in client.get("/account").get_data(as_text=True)
    created = _create(client, scope="write", days="30")
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    body = created.get_data(as_text=True)
    plaintext = re.search(r'value="(opf_[\w-]{43})"', body).group(1)
    assert "shown only this once" in body and 'data-copy="new-token-value"' in body
    assert 'href="/api/docs"' in body
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 200
    # Listed without the plaintext: name, prefix, access, status, last use and its address.
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert plaintext not in listing and plaintext[:8] in listing
    assert "Website form" in listing and "Read and write" in listing and "Active" in listing
    assert "127." in listing  # the address of the call above
    token = db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert (token.expires_at - utcnow()).days in (29, 30)
    revoked = client.post(f"/account/api-tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 401
    assert "Revoked" in client.get("/account/api-tokens").get_data(as_text=True)


def test_another_users_token_is_404_and_stays_usable(client, make):
    owner = make.user("admin")
    token, plaintext = api_tokens.create_token(owner, "Theirs", {"read"}, 30)
    db.session.commit()
    client.login(make.user("admin"))
    assert client.post(f"/account/api-tokens/{token.id}/revoke").status_code == 404
    assert "Theirs" not in client.get("/account/api-tokens").get_data(as_text=True)
    assert client.get(LIST, headers=bearer(plaintext)).status_code == 200


def test_revoke_needs_the_csrf_token(client, make):
    user = make.user("agent")
    token, _ = api_tokens.create_token(user, "t", {"read"}, 30)
    db.session.commit()
    client.login(user)
    assert client.post(f"/account/api-tokens/{token.id}/revoke", csrf=False).status_code == 400
    db.session.refresh(token)
    assert token.revoked_at is None


@pytest.mark.parametrize("data, field", [({"name": ""}, "name"), ({"name": "x" * 121}, "name"),
                                         ({"scope": "admin"}, "scope"), ({"days": "400"}, "days"),
                                         ({"days": "abc"}, "days"), ({"days": "0"}, "days")])
def test_bad_input_is_refused_in_words_and_nothing_saved(client, make, data, field):
    client.login(make.user("agent"))
    response = _create(client, **data)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert db.session.execute(select(db.func.count(ApiToken.id))).scalar() == 0


def test_expired_tokens_are_listed_as_expired(client, make):
    user = make.user("manager")
    token, _ = api_tokens.create_token(user, "Old", {"read"}, 30)
    token.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    client.login(user)
    body = client.get("/account/api-tokens").get_data(as_text=True)
    assert "Expired" in body and "Revoke" not in body.split('id="tokens"')[1].split('id="create"')[0]


def test_id_filters_are_read_from_the_query_string(client, make, token):
    """?type_id=3 is how a client filters (it was a 422: the id field took JSON integers only)."""
    _, plaintext = token
    flow = make.flow((1, 1))
    opp = make.opportunity(flow, name="Typed deal")
    make.opportunity(name="Other type deal")
    response = client.get(LIST, query_string={"type_id": str(flow.id)}, headers=bearer(plaintext))
    assert response.status_code == 200, response.json
    assert [item["id"] for item in response.json["items"]] == [opp.id]
    for bad in ("1.5", "true", "1e3", "0", "x"):
        assert client.get(LIST, query_string={"type_id": bad}, headers=bearer(plaintext)).status_code == 422, bad


def test_a_token_name_is_shown_as_text_everywhere_on_the_page(client, make):
    """The name goes into the list, the heading of the new token and the revoke button's confirmation."""
    user = make.user("agent")
    client.login(user)
    name = 'ERP "sync"><script>alert(1)</script>'
    body = _create(client, name=name).get_data(as_text=True)
    assert "<script>alert(1)" not in body
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert "<script>alert(1)" not in listing and "&lt;script&gt;alert(1)" in listing
    confirm = re.search(r'data-confirm="([^"]*)"', listing).group(1)
    assert "ERP &#34;sync&#34;&gt;" in confirm or "ERP &quot;sync&quot;&gt;" in confirm
