"""Login, logout, session renewal, CSRF, rate limiting and security headers (SPEC P1)."""

import pytest

from extensions import db


def test_login_lands_on_opportunities_and_logout_ends_session(client, make):
    user = make.user("manager")
    response = client.login(user)
    assert response.location == "/"
    assert client.get("/opportunities").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/opportunities").status_code == 302  # back to login


def test_wrong_password_is_a_translated_422_without_login(client, make):
    user = make.user("manager", language="it")
    response = client.post("/login", data={"email": user.email, "password": "nope"},
                           headers={"Accept-Language": "it"})
    assert response.status_code == 422
    assert "Email o password errati" in response.get_data(as_text=True)
    assert client.get("/opportunities").status_code == 302


def test_inactive_user_cannot_log_in(client, make):
    user = make.user("manager", active=False)
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 422


def test_session_is_renewed_at_login(client, make):
    user = make.user("manager")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    client.login(user)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(user.id)


def test_post_without_csrf_token_is_refused(client, make):
    user = make.user("manager")
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery"}, csrf=False)
    assert response.status_code == 400
    assert client.get("/opportunities").status_code == 302


def test_htmx_post_without_csrf_header_is_refused(client, make):
    user = make.user("manager")
    opp = make.opportunity()
    client.login(user)
    sub = opp.type.substates[0]
    response = client.post(f"/opportunities/{opp.id}/substates/{sub.id}/open", headers={"HX-Request": "true"},
                           csrf=False)
    assert response.status_code == 400
    assert not opp.substates


def test_login_is_rate_limited(app, client, make):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    user = make.user("manager")
    codes = [client.post("/login", data={"email": user.email, "password": "bad"}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    assert "Too many attempts" in client.post("/login", data={"email": user.email, "password": "x"}).get_data(True)


def test_security_headers_and_cookie_flags(client, make):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    user = make.user("manager")
    login = client.login(user)
    cookie = login.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example/x",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, make, target):
    user = make.user("manager")
    response = client.post(f"/login?next={target}", data={"email": user.email, "password": "correct horse battery"})
    assert response.location == "/"


def test_passwords_are_hashed(make):
    user = make.user("manager")
    db.session.refresh(user)
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse battery")


def test_production_hashes_passwords_with_scrypt(app, make):
    """The suite hashes cheaply (PASSWORD_HASH_METHOD); without that setting a password is scrypt-hashed."""
    app.config.pop("PASSWORD_HASH_METHOD")
    user = make.user("manager")
    assert user.password_hash.startswith("scrypt:") and user.check_password("correct horse battery")


def test_behind_a_proxy_login_limits_count_per_client(app, make):
    """With OPPFLOW_PROXIES=1 the login limit counts the address the proxy forwards, not the proxy's own
    (which every user would share)."""
    import uuid

    from app import create_app

    user = make.user("manager")
    proxied = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY",
                                                        "RQ_QUEUE", "PASSWORD_HASH_METHOD")},
                          "TESTING": True, "PROXY_COUNT": 1, "LOGIN_RATE_LIMIT": "2 per minute"})
    proxied.test_client_class = app.test_client_class
    client = proxied.test_client()

    def attempt(address: str) -> int:
        return client.post("/login", data={"email": user.email, "password": "bad"},
                           headers={"X-Forwarded-For": address}).status_code

    # Addresses of this run only: the limits are counted in the shared Redis.
    first, second = (f"2001:db8::{uuid.uuid4().hex[:4]}" for _ in range(2))
    assert [attempt(first) for _ in range(3)] == [422, 422, 429]
    assert attempt(second) == 422  # another client behind the same proxy is not locked out
    with proxied.app_context():
        db.engine.dispose()
