"""Authentication and account services."""

from sqlalchemy import func, select

from extensions import db
from models import User
from models.base import utcnow

# Hash checked when the email is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$kNoSjLVdZIM1cT9n$7d8c1f9f3b5b3d2b4f5a1c0a9d0e6b1f2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    ).scalar_one_or_none()


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None."""
    user = find_user_by_email(email)
    if user is None:
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.active or not user.check_password(password or ""):
        return None
    user.last_login_at = utcnow()
    return user


def set_language(user: User, lang: str) -> None:
    """Remember the user's interface language."""
    user.language = lang
