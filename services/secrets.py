"""Secrets at rest (SMTP passwords, webhook secrets): Fernet encryption with the keys of
OPPFLOW_ENCRYPTION_KEYS, newest first, so a new key can be added before the old one is retired.

A plaintext secret never leaves this module except to the code that uses it (an SMTP login):
it is not logged, not put in an error message and not rendered back into a page.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from services import ServiceError

# Every encrypted column as (model, attribute name): rotate-keys re-encrypts each of them. A later
# secret (an external source's webhook secret) registers itself with `register`.
ENCRYPTED: list[tuple[type, str]] = []


class SecretError(ServiceError):
    """A stored secret cannot be read with the configured keys (a key was removed too early)."""


def register(model: type, attribute: str) -> None:
    """Declare an encrypted column so that key rotation covers it."""
    if (model, attribute) not in ENCRYPTED:
        ENCRYPTED.append((model, attribute))


@lru_cache(maxsize=8)
def _fernet(keys: str) -> MultiFernet:
    parts = [k.strip() for k in keys.split(",") if k.strip()]
    if not parts:
        raise SecretError(_("No encryption key is configured (OPPFLOW_ENCRYPTION_KEYS)."), 500)
    try:
        return MultiFernet([Fernet(k.encode()) for k in parts])
    except ValueError as err:
        raise SecretError(_("An encryption key in OPPFLOW_ENCRYPTION_KEYS is not a valid Fernet key."), 500) from err


def fernet() -> MultiFernet:
    """The app's MultiFernet: encrypts with the first key, decrypts with any of them."""
    return _fernet(current_app.config["ENCRYPTION_KEYS"])


def encrypt(plaintext: str) -> str:
    """The token to store for a secret."""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The secret a stored token holds; a token no configured key opens is a SecretError."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as err:
        raise SecretError(_("A stored password cannot be decrypted with the configured encryption keys "
                            "(OPPFLOW_ENCRYPTION_KEYS): was a key removed before rotate-keys ran?")) from err


def rotate_all() -> int:
    """Re-encrypt every registered secret with the newest key; returns how many; the caller commits."""
    _register_known()
    mf = fernet()
    count = 0
    for model, attribute in ENCRYPTED:
        column = getattr(model, attribute)
        for record in db.session.execute(select(model).where(column.is_not(None))).scalars():
            try:
                setattr(record, attribute, mf.rotate(getattr(record, attribute).encode()).decode())
            except InvalidToken as err:
                raise SecretError(_("%(table)s #%(id)s cannot be decrypted with the configured keys: add the "
                                    "key it was written with to OPPFLOW_ENCRYPTION_KEYS and run again.",
                                    table=model.__tablename__, id=record.id)) from err
            count += 1
    db.session.flush()
    return count


def generate_key() -> str:
    """A new Fernet key (for the README's rotation steps)."""
    return Fernet.generate_key().decode()


def _register_known() -> None:
    from models import SmtpCredential

    register(SmtpCredential, "password_encrypted")
