"""Secrets at rest (SPEC S1): Fernet with keys from the environment, rotation by `flask rotate-keys`,
and sending still works after it."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from engine.executor import execute
from extensions import db
from models import SmtpCredential
from services import secrets
from services.substates import open_substate
from tests.engine_support import runs
from tests.mail import support
from tests.mail.conftest import PASSWORD


def stored_token(cred_id) -> str:
    return db.session.execute(text("SELECT password_encrypted FROM smtp_credential WHERE id = :id"),
                              {"id": cred_id}).scalar_one()


def test_the_column_holds_a_fernet_token_not_the_password(app):
    token = secrets.encrypt(PASSWORD)
    assert PASSWORD not in token and secrets.decrypt(token) == PASSWORD
    assert Fernet(app.config["ENCRYPTION_KEYS"].split(",")[0].encode()).decrypt(token.encode()) == PASSWORD.encode()


def test_rotate_keys_reencrypts_with_the_new_key_and_sending_still_works(mail_app, make, smtp_server):
    old_key, new_key = mail_app.config["ENCRYPTION_KEYS"], Fernet.generate_key().decode()
    server = smtp_server("starttls", auth=True)
    cred = support.credentials(server, auth=True)
    w = support.world(make, cred, support.template())
    before = stored_token(cred.id)

    mail_app.config["ENCRYPTION_KEYS"] = f"{new_key},{old_key}"  # new key first, old one still readable
    result = mail_app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "1 secret(s) re-encrypted with the newest key" in result.output and PASSWORD not in result.output
    db.session.expire_all()
    after = stored_token(cred.id)
    assert after != before and PASSWORD not in after
    assert Fernet(new_key.encode()).decrypt(after.encode()) == PASSWORD.encode()
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(after.encode())

    mail_app.config["ENCRYPTION_KEYS"] = new_key  # the old key retired
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    execute(run.id, "send_email")
    assert runs(id=run.id)[0].status == "succeeded"
    assert len(server.wait_for(1)) == 1


def test_rotate_keys_with_a_missing_old_key_changes_nothing_and_says_so(app):
    cred = SmtpCredential(name="Old", host="h", port=25, security="none", username="u",
                          password_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode(),
                          from_address="a@example.com")
    db.session.add(cred)
    db.session.commit()
    before = stored_token(cred.id)
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 1 and "smtp_credential #" in result.output and "cannot be decrypted" in result.output
    db.session.expire_all()
    assert stored_token(cred.id) == before


def test_a_password_no_key_opens_fails_the_run_with_a_clear_error(mail_app, make, smtp_server):
    server = smtp_server("starttls", auth=True)
    cred = support.credentials(server, auth=True)
    w = support.world(make, cred, support.template())
    mail_app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    execute(run.id, "send_email")
    run = runs(id=run.id)[0]
    assert run.status == "failed" and run.attempts == 1 and "cannot be decrypted" in run.error
    assert server.messages == []


def test_embedded_mode_generates_a_private_key_file(tmp_path, monkeypatch):
    import config

    monkeypatch.delenv("OPPFLOW_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    key = config._encryption_keys()
    path = tmp_path / "encryption_key"
    assert path.read_text() == key and oct(path.stat().st_mode & 0o777) == "0o600"
    assert config._encryption_keys() == key  # kept across restarts
    Fernet(key.encode())
    monkeypatch.setenv("OPPFLOW_ENCRYPTION_KEYS", "from-env")
    assert config._encryption_keys() == "from-env"
