"""API tokens (SPEC P4): create (the plaintext shown once), list, revoke, and authenticate a bearer token.

A token is "opf_" + 43 random URL-safe characters (256 bits); only its SHA-256 is stored, which is enough
for a secret of that strength (a slow password hash would only cost each API request time). Its user's
rights apply in full — a partner's token sees what that partner sees in the pages — narrowed by its scopes:
"read" for GET, "write" for every change.
"""

from __future__ import annotations

import hashlib
import secrets as random
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from extensions import db
from models import ApiToken, User
from models.api import SCOPES
from models.base import utcnow
from services import ServiceError
from services.validation import InvalidData

PREFIX = "opf_"
NAME_MAX = 120
MAX_DAYS = 366
# The expiries the account page offers (a script can ask any number of days up to MAX_DAYS).
EXPIRY_CHOICES = (7, 30, 90, 180, 365)
# "Last used" is written at most once a minute per token: an integration polling the API must not turn
# every read into a write.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, marked as such)."""
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).scalars())


def create_token(user: User, name: str, scopes: list[str] | set[str], days: int | None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with its plaintext, which is never available again."""
    name = (name or "").strip()
    wanted = {s for s in scopes or () if s}
    errors = {}
    if not name:
        errors["name"] = _("Give the token a name, e.g. the integration that will use it.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("At most %(max)d characters.", max=NAME_MAX)
    if not wanted or not wanted <= set(SCOPES):
        errors["scopes"] = _("Choose what the token may do: read, or read and write.")
    if days is None or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("The token must expire within 1 to %(max)d days.", max=MAX_DAYS)
    if not user.active:
        errors["user"] = _("The user is not active.")
    if errors:
        raise InvalidData(errors)
    if "write" in wanted:
        wanted.add("read")
    plaintext = PREFIX + random.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plaintext[:8], token_hash=_digest(plaintext),
                     scopes=" ".join(s for s in SCOPES if s in wanted), expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def get_own_token(user: User, token_id: int) -> ApiToken:
    """One of the user's own tokens, else a 404 (another user's token is not theirs to see)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise ServiceError(_("This token does not exist."), 404)
    return token


def revoke(token: ApiToken) -> None:
    """Stop the token at once; revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def authenticate(plaintext: str | None, ip: str | None, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this plaintext, its use recorded; None when unknown, revoked or expired."""
    if not plaintext or not plaintext.startswith(PREFIX) or len(plaintext) > 100:
        return None
    # The user in the same statement: every API request needs both (one round trip fewer per request).
    token = db.session.execute(select(ApiToken).options(joinedload(ApiToken.user))
                               .where(ApiToken.token_hash == _digest(plaintext))).scalar_one_or_none()
    now = now or utcnow()
    if token is None or not token.usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY or token.last_used_ip != ip:
        # A conditional update in its own short transaction: the request's work may fail and roll back,
        # the record of the use stays.
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now, last_used_ip=(ip or "")[:64]))
        db.session.commit()
    return token


def status(token: ApiToken, now: datetime | None = None) -> str:
    """"revoked", "expired" or "active", as the account page shows it (revoked wins: it was a decision)."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (now or utcnow()) else "active"


def allows(token: ApiToken, method: str) -> bool:
    """Whether the token's scopes allow a request with this HTTP method."""
    return ("read" if method in ("GET", "HEAD", "OPTIONS") else "write") in token.scope_set
