"""Settings → SMTP credentials (SPEC S1): admins only, the password encrypted and never shown again,
422 with nothing saved, and "Test connection" reporting the server's answer in plain words."""

import socket

import pytest
from sqlalchemy import func, select, text

from extensions import db
from models import SmtpCredential
from services.secrets import decrypt
from tests.mail import support
from tests.mail.conftest import PASSWORD, USER, free_port

ROUTES = [("GET", "/settings/smtp-credentials"), ("GET", "/settings/smtp-credentials/new"),
          ("POST", "/settings/smtp-credentials/new"), ("GET", "/settings/smtp-credentials/{id}"),
          ("POST", "/settings/smtp-credentials/{id}"), ("POST", "/settings/smtp-credentials/{id}/delete"),
          ("POST", "/settings/smtp-credentials/test"), ("POST", "/settings/smtp-credentials/{id}/test")]


def fresh():
    db.session.rollback()
    db.session.expire_all()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(SmtpCredential))


def form(**changes) -> dict:
    data = {"name": "Company mail", "host": "smtp.example.com", "port": "587", "security": "starttls",
            "username": USER, "password": PASSWORD, "from_address": "noreply@example.com",
            "from_name": "Vendite"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(client, make):
    user = make.user("admin")
    client.login(user)
    return user


@pytest.fixture
def stored(app):
    cred = SmtpCredential(name="Stored", host="127.0.0.1", port=25, security="none", username=USER,
                          password_encrypted=None, from_address="noreply@example.com")
    from services.secrets import encrypt

    cred.password_encrypted = encrypt(PASSWORD)
    db.session.add(cred)
    db.session.commit()
    return cred


def test_admin_opens_the_pages_and_the_settings_tile(client, admin, stored):
    for method, url in ROUTES:
        if method == "GET":
            assert client.get(url.format(id=stored.id)).status_code == 200
    assert 'href="/settings/smtp-credentials"' in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("manager", 403), ("agent", 403), ("partner", 404)])
def test_others_are_refused_and_nothing_changes(client, make, stored, method, url, role, status):
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=stored.id), method=method, data=form(name="Changed"))
    assert response.status_code == status
    fresh()
    assert [c.name for c in db.session.scalars(select(SmtpCredential))] == ["Stored"]
    assert PASSWORD not in response.get_data(as_text=True)


def test_create_encrypts_the_password_and_never_shows_it_again(client, admin):
    response = client.post("/settings/smtp-credentials/new", data=form())
    assert response.status_code == 302
    fresh()
    cred = db.session.scalar(select(SmtpCredential))
    raw = db.session.execute(text("SELECT password_encrypted FROM smtp_credential")).scalar_one()
    assert PASSWORD not in raw and decrypt(raw) == PASSWORD
    for url in ("/settings/smtp-credentials", f"/settings/smtp-credentials/{cred.id}"):
        page = client.get(url).get_data(as_text=True)
        assert PASSWORD not in page and raw not in page
    page = client.get(f"/settings/smtp-credentials/{cred.id}").get_data(as_text=True)
    assert "A password is stored (unchanged)" in page
    assert 'name="password" type="password" value=""' in page


def test_edit_keeps_the_password_when_empty_replaces_or_removes_it(client, admin, stored):
    url = f"/settings/smtp-credentials/{stored.id}"
    assert client.post(url, data=form(name="Renamed", password="")).status_code == 302
    fresh()
    cred = db.session.get(SmtpCredential, stored.id)
    assert cred.name == "Renamed" and decrypt(cred.password_encrypted) == PASSWORD
    assert client.post(url, data=form(name="Renamed", password="another-one")).status_code == 302
    fresh()
    assert decrypt(db.session.get(SmtpCredential, stored.id).password_encrypted) == "another-one"
    assert client.post(url, data=form(name="Renamed", password="", username="", clear_password="y")).status_code == 302
    fresh()
    cred = db.session.get(SmtpCredential, stored.id)
    assert cred.password_encrypted is None and cred.username is None


@pytest.mark.parametrize("changes,field,message", [
    ({"name": ""}, "name", "Enter a name."),
    ({"name": "Stored"}, "name", "Other SMTP credentials already have this name."),
    ({"host": ""}, "host", "Enter the host name of the SMTP server, e.g. smtp.example.com."),
    ({"port": "70000"}, "port", "Enter a port between 1 and 65535"),
    ({"port": "abc"}, "port", "Not a valid integer value."),
    ({"security": "ssl3"}, "security", "Choose none, STARTTLS or TLS."),
    ({"from_address": "not an address"}, "from_address", "Enter the address emails are sent from"),
    ({"password": ""}, "password", "Enter the password for this username."),
])
def test_refused_data_comes_back_with_messages_and_nothing_is_saved(client, admin, stored, changes, field, message):
    response = client.post("/settings/smtp-credentials/new", data=form(**{"name": "New", **changes}))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert PASSWORD not in body  # the typed password is not echoed back either
    fresh()
    assert count() == 1


def test_delete_refused_while_an_action_sends_with_them(client, admin, stored, make):
    flow = make.flow((1,))
    action = make.action(flow.substates[0], "send_email", config={"smtp_credential_id": stored.id})
    response = client.post(f"/settings/smtp-credentials/{stored.id}/delete", follow_redirects=True)
    assert "1 automatic action sends with these credentials: change it first." in response.get_data(as_text=True)
    fresh()
    assert count() == 1
    db.session.delete(db.session.get(type(action), action.id))
    db.session.commit()
    assert client.post(f"/settings/smtp-credentials/{stored.id}/delete").status_code == 302
    fresh()
    assert count() == 0


# --- Test connection ----------------------------------------------------------------------------------

def try_connection(client, data, cred=None):
    url = f"/settings/smtp-credentials/{cred.id}/test" if cred else "/settings/smtp-credentials/test"
    response = client.htmx("POST", url, data=data)
    return response.status_code, response.get_data(as_text=True)


def test_connection_success_reports_the_greeting_and_tls(mail_app, client, admin, smtp_server):
    server = smtp_server("starttls", auth=True)
    status, body = try_connection(client, form(host="127.0.0.1", port=str(server.port)))
    assert status == 200 and "Connection works." in body
    assert "Encrypted with TLSv1.3." in body and f"Authenticated as {USER}." in body
    assert "The server greeted us with: 220 oppflow-test-smtp" in body
    assert PASSWORD not in body and 'id="smtp-test"' in body and "<html" not in body


def test_connection_with_the_stored_password(mail_app, client, admin, smtp_server):
    server = smtp_server("tls", auth=True)
    cred = support.credentials(server, auth=True)
    status, body = try_connection(client, form(host="127.0.0.1", port=str(server.port), security="tls",
                                                password="", name=cred.name), cred)
    assert status == 200 and "Connection works." in body


@pytest.mark.parametrize("case", ["refused", "auth", "tls", "timeout", "not_starttls"])
def test_connection_failures_in_plain_words(mail_app, client, admin, smtp_server, case):
    if case == "refused":
        port = free_port()
        data, expected = form(host="127.0.0.1", port=str(port), security="none", username=""), \
            f"Connection refused by 127.0.0.1:{port}"
    elif case == "auth":
        server = smtp_server("starttls", auth=True)
        data, expected = form(host="127.0.0.1", port=str(server.port), password="wrong"), \
            "Authentication failed: the server answered 535"
    elif case == "tls":
        server = smtp_server("tls")
        mail_app.config["MAIL_CA_FILE"] = None  # the self-signed certificate is no longer trusted
        data, expected = form(host="127.0.0.1", port=str(server.port), security="tls", username=""), \
            "TLS failure with 127.0.0.1"
    elif case == "timeout":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never greets
        mail_app.config["MAIL_TEST_TIMEOUT"] = 0.5
        data, expected = form(host="127.0.0.1", port=str(listener.getsockname()[1]), security="none", username=""), \
            "within 0.5 seconds (timeout)"
    else:
        server = smtp_server("none")
        data, expected = form(host="127.0.0.1", port=str(server.port), username=""), "does not support"
    status, body = try_connection(client, data)
    if case == "timeout":
        listener.close()
    assert status == 200 and "Connection failed." in body and expected in body, body
    assert "wrong" not in body and PASSWORD not in body


def test_connection_with_bad_fields_lists_them(client, admin):
    status, body = try_connection(client, form(host="", port="0"))
    assert status == 422 and "Fix these fields before testing" in body and "Enter a port between" in body
