"""SMTP credentials (SPEC S1): create, edit, delete when unused, test the connection.

The password is stored encrypted (services.secrets) and never handed back: an edit that leaves it empty
keeps the stored one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from extensions import db
from models import Action, SmtpCredential, User
from models.catalog import SMTP_SECURITY
from services import ServiceError
from services.secrets import encrypt
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")


@dataclass
class SmtpData:
    name: str
    host: str
    port: int | None
    security: str
    username: str = ""
    password: str = ""  # empty: keep the stored one
    clear_password: bool = False
    from_address: str = ""
    from_name: str = ""


def list_credentials() -> list[tuple[SmtpCredential, int]]:
    """Every set of credentials by name, with how many automatic actions send with it."""
    usage = _usage()
    creds = db.session.execute(select(SmtpCredential).order_by(SmtpCredential.name)).scalars()
    return [(c, usage.get(c.id, 0)) for c in creds]


def _usage() -> dict[int, int]:
    counts: dict[int, int] = {}
    for config in db.session.execute(select(Action.config)).scalars():
        cred_id = (config or {}).get("smtp_credential_id")
        if cred_id:
            counts[cred_id] = counts.get(cred_id, 0) + 1
    return counts


def create_credential(data: SmtpData, actor: User) -> SmtpCredential:
    """Create credentials from the form's data; the password is encrypted before it is stored."""
    cred = SmtpCredential()
    _check(cred, data)
    _apply(cred, data)
    db.session.add(cred)
    flush_unique("name", _("Other SMTP credentials already have this name."))
    log.info("smtp credentials %s created by %s", cred.id, actor.id)
    return cred


def update_credential(cred: SmtpCredential, data: SmtpData, actor: User) -> SmtpCredential:
    """Update credentials; an empty password keeps the stored one."""
    _check(cred, data)
    _apply(cred, data)
    flush_unique("name", _("Other SMTP credentials already have this name."))
    log.info("smtp credentials %s updated by %s", cred.id, actor.id)
    return cred


def delete_credential(cred: SmtpCredential, actor: User) -> None:
    """Delete credentials no automatic action uses."""
    used = _usage().get(cred.id, 0)
    if used:
        raise ServiceError(ngettext("%(num)d automatic action sends with these credentials: change it first.",
                                    "%(num)d automatic actions send with these credentials: change them first.",
                                    used), 409)
    db.session.delete(cred)
    db.session.flush()
    log.info("smtp credentials %s deleted by %s", cred.id, actor.id)


def _apply(cred: SmtpCredential, data: SmtpData) -> None:
    cred.name = data.name.strip()
    cred.host = data.host.strip()
    cred.port = int(data.port)
    cred.security = data.security
    cred.username = data.username.strip() or None
    cred.from_address = data.from_address.strip()
    cred.from_name = data.from_name.strip() or None
    if data.password:
        cred.password_encrypted = encrypt(data.password)
    elif data.clear_password or not cred.username:
        cred.password_encrypted = None


def check(cred: SmtpCredential | None, data: SmtpData) -> dict[str, str]:
    """Field messages for data that cannot be saved (or tested); empty when it is fine."""
    errors = {}
    if not data.name.strip():
        errors["name"] = _("Enter a name.")
    elif _name_taken(data.name, cred.id if cred else None):
        errors["name"] = _("Other SMTP credentials already have this name.")
    if not _host_ok(data.host):
        errors["host"] = _("Enter the host name of the SMTP server, e.g. smtp.example.com.")
    if data.port is None or not 1 <= data.port <= 65535:
        errors["port"] = _("Enter a port between 1 and 65535 (usually 587 for STARTTLS, 465 for TLS, 25).")
    if data.security not in SMTP_SECURITY:
        errors["security"] = _("Choose none, STARTTLS or TLS.")
    try:
        validate_email(data.from_address.strip(), check_deliverability=False)
    except EmailNotValidError:
        errors["from_address"] = _("Enter the address emails are sent from, e.g. noreply@example.com.")
    # The columns' sizes: PostgreSQL refuses a longer value (a 500), SQLite would store it.
    for key, size in (("name", 120), ("username", 255), ("from_name", 120), ("from_address", 254)):
        if key not in errors and len((getattr(data, key) or "").strip()) > size:
            errors[key] = _("At most %(max)d characters.", max=size)
    keeps_password = cred is not None and cred.password_encrypted and not data.clear_password
    if data.username.strip() and not data.password and not keeps_password:
        errors["password"] = _("Enter the password for this username.")
    return errors


def _host_ok(host: str) -> bool:
    """A name a connection can be made to: no spaces, at most 253 characters, labels IDNA can encode
    (socket raises UnicodeError on a label over 63 characters)."""
    host = (host or "").strip()
    if not host or len(host) > 253 or any(c.isspace() for c in host):
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def _check(cred: SmtpCredential, data: SmtpData) -> None:
    errors = check(cred if cred.id else None, data)
    if errors:
        raise InvalidData(errors)


def _name_taken(name: str, own_id: int | None) -> bool:
    return name_taken(SmtpCredential.name, name, own_id)


def test_connection(data: SmtpData, stored: SmtpCredential | None = None):
    """Connect with the form's values (the stored password when the field is empty); an engine.mail.TestReport."""
    from engine.errors import PermanentError
    from engine.mail import Sender, TestReport, test_connection

    errors = check(stored, data)
    errors.pop("name", None)  # testing does not need a unique name
    if errors:
        raise InvalidData(errors)
    draft = SmtpCredential()
    _apply(draft, SmtpData(**{**data.__dict__, "password": ""}))
    password = data.password or None
    if password is None and stored is not None and stored.password_encrypted and not data.clear_password:
        draft.password_encrypted = stored.password_encrypted
    try:
        sender = Sender.from_credential(draft, password=password)
    except (ServiceError, PermanentError) as err:
        return TestReport(False, getattr(err, "message", None) or str(err))
    return test_connection(sender)
