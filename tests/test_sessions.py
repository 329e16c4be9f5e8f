"""Sessions end on the server (SPEC P1): a session cookie copied before logout, a password change, a
deactivation or "log out everywhere" opens nothing afterwards."""

import secrets

import pytest
from flask import g

from extensions import db
from tests import factories


@pytest.fixture
def new_client(app):
    def make():
        g.pop("_login_user", None)  # the test's app context serves the requests: forget the last login
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*secrets.token_bytes(3))
        return c
    return make


def _copy(src, new_client):
    """Another browser holding a copy of `src`'s session cookie (as a thief would replay it)."""
    thief = new_client()
    thief.environ_base.update(src.environ_base)  # same address and agent: "strong" protection satisfied
    thief.set_cookie("session", src.get_cookie("session").value)
    return thief


def _in(c) -> bool:
    g.pop("_login_user", None)
    return c.get("/account").status_code == 200 and c.get("/opportunities").status_code == 200


def test_logout_refuses_a_copied_cookie(new_client, make):
    user = make.user("agent")
    browser = new_client()
    browser.login(user)
    thief = _copy(browser, new_client)
    assert _in(thief)
    assert browser.post("/logout").status_code == 302
    assert not _in(thief)
    assert thief.get("/account").headers["Location"].startswith("/login")


def test_password_change_ends_other_sessions_but_keeps_this_one(new_client, make):
    user = make.user("agent")
    here, elsewhere = new_client(), new_client()
    here.login(user)
    elsewhere.login(user)
    thief = _copy(elsewhere, new_client)
    wrong = here.post("/account/password", data={"current": "nope", "new": "n3w-passw0rd", "confirm": "n3w-passw0rd"})
    assert wrong.status_code == 422 and "The current password is wrong" in wrong.get_data(as_text=True)
    assert _in(elsewhere)
    done = here.post("/account/password", data={"current": factories.PASSWORD, "new": "n3w-passw0rd",
                                                "confirm": "n3w-passw0rd"})
    assert done.status_code == 302
    assert _in(here) and not _in(elsewhere) and not _in(thief)
    assert new_client().post("/login", data={"email": user.email, "password": "n3w-passw0rd"}).status_code == 302


def test_admin_password_reset_and_deactivation_end_the_users_sessions(new_client, make):
    user = make.user("agent")
    browser = new_client()
    browser.login(user)
    thief = _copy(browser, new_client)
    admin = make.user("admin")
    from services import users as user_svc

    data = {key: getattr(user, key) for key in user_svc.FIELDS} | {"email": user.email, "password": "an0ther-pass"}
    user_svc.update_user(user, data, admin)  # as the admin's form does: a new password
    db.session.commit()
    assert not _in(browser) and not _in(thief)

    browser.login(user, password="an0ther-pass")
    assert _in(browser)
    user_svc.update_user(user, data | {"password": "", "active": False}, admin)
    db.session.commit()
    assert not _in(browser)


def test_log_out_everywhere(new_client, make):
    user = make.user("agent")
    one, two = new_client(), new_client()
    one.login(user)
    two.login(user)
    page = one.get("/account").get_data(as_text=True)
    assert "Log out everywhere" in page and "This browser" in page
    assert one.post("/account/sessions/end-all").status_code == 302
    assert not _in(one) and not _in(two)
