"""Login sessions kept on the server (SPEC P1): a cookie is only as good as its row here.

The signed session cookie carries a random token; its SHA-256 is stored with the user. Logging out ends
that row, a password change or a deactivation ends every row of the user (but the session of whoever
changed their own password), and "log out everywhere" ends them all: a cookie copied before any of these
is refused afterwards, although its signature is still valid."""

import hashlib
import secrets

from flask import request, session
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from extensions import db
from models import User, UserSession
from models.base import utcnow

KEY = "sid"  # where the token lives in the signed cookie


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User) -> None:
    """A new server-side session for `user`, its token in this request's cookie (call after login_user)."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token),
                               user_agent=(request.user_agent.string or "")[:200] or None))
    session[KEY] = token


def load_user(user_id: str) -> User | None:
    """The user the cookie names, if its session is still open and the user active (Flask-Login loader)."""
    token = session.get(KEY)
    if not token or not isinstance(token, str) or not user_id.isdigit():
        return None
    # With the permissions granted by name: nearly every page asks what the user may do (one query, not two).
    return db.session.execute(
        select(User).join(UserSession, UserSession.user_id == User.id).options(joinedload(User.granted))
        .where(User.id == int(user_id), User.active.is_(True), UserSession.token_hash == _hash(token),
               UserSession.ended_at.is_(None))
    ).unique().scalar_one_or_none()


def end_current() -> None:
    """End this browser's session (logout)."""
    token = session.get(KEY)
    if isinstance(token, str):
        db.session.execute(update(UserSession).where(UserSession.token_hash == _hash(token),
                                                     UserSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_all(user: User, keep_current: bool = False) -> int:
    """End every open session of `user` (all but this browser's when `keep_current`); how many ended."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    token = session.get(KEY) if keep_current else None
    if isinstance(token, str):
        stmt = stmt.where(UserSession.token_hash != _hash(token))
    return db.session.execute(stmt.values(ended_at=utcnow())).rowcount


def open_sessions(user: User) -> list[UserSession]:
    """The user's open sessions, newest first (the account page lists them)."""
    return list(db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.id.desc())
    ).scalars())


def is_current(row: UserSession) -> bool:
    """Whether `row` is this browser's session."""
    token = session.get(KEY)
    return isinstance(token, str) and row.token_hash == _hash(token)
