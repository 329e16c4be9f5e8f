"""User administration: search, create and edit users, their role, company, supervisor and grants."""

import logging

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from extensions import db
from models import PartnerCompany, User, UserPermission
from models.accounts import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from services import sessions
from services.validation import InvalidData

log = logging.getLogger("oppflow")

FIELDS = ("name", "email", "role", "company_id", "language", "supervisor_id", "timezone",
          "work_start", "work_end", "work_days", "active")


def search(q: str = "", role: str | None = None, company_id: int | None = None) -> Select:
    """Users matching the text (name or email), optionally of one role and one company."""
    stmt = select(User).options(selectinload(User.company), selectinload(User.supervisor))
    q = q.strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.name.ilike(like), User.email.ilike(like)))
    if role:
        stmt = stmt.where(User.role == role)
    if company_id:
        stmt = stmt.where(User.company_id == company_id)
    return stmt.order_by(User.name, User.id)


def supervisor_choices(user: User | None = None) -> list[User]:
    """Internal users who may supervise `user`: active ones plus its current supervisor, never itself."""
    stmt = select(User).where(User.role != "partner").order_by(User.name, User.id)
    keep = user.supervisor_id if user else None
    users = db.session.execute(stmt).scalars()
    return [u for u in users if (u.active or u.id == keep) and (user is None or u.id != user.id)]


def company_choices(keep: int | None = None, everyone: bool = False) -> list[PartnerCompany]:
    """Partner companies a user may belong to: active ones plus the one with id `keep` (or all of them)."""
    stmt = select(PartnerCompany).order_by(PartnerCompany.name)
    return [c for c in db.session.execute(stmt).scalars() if everyone or c.active or c.id == keep]


def create_user(data: dict, actor: User) -> User:
    """Create a user from validated form data; the password is required."""
    user = User()
    _check(user, data, actor)
    _apply(user, data)
    user.set_password(data["password"])
    db.session.add(user)
    _flush(user)
    log.info("user %s created by %s", user.id, actor.id)
    return user


def update_user(user: User, data: dict, actor: User) -> User:
    """Update a user from validated form data; an empty password leaves it unchanged."""
    _check(user, data, actor)
    _apply(user, data)
    if data.get("password"):
        user.set_password(data["password"])
        # A new password shuts out whoever had the old one: every other browser's session ends.
        sessions.end_all(user, keep_current=user.id == actor.id)
    if not user.active:
        sessions.end_all(user)
    _flush(user)
    log.info("user %s updated by %s", user.id, actor.id)
    return user


def _flush(user: User) -> None:
    """Write the user; another request that took the address a moment ago (after `_check` looked) trips
    the unique index on lower(email), which is the same refusal in words (the caller rolls back)."""
    try:
        db.session.flush()
    except IntegrityError as err:
        if "email" not in str(err.orig).lower():
            raise
        raise InvalidData({"email": _("Another user already has this email address.")}) from None


def _apply(user: User, data: dict) -> None:
    for key in FIELDS:
        setattr(user, key, data.get(key))
    user.email = data["email"].strip()
    user.language = data.get("language") or None
    wanted = _grants(data)
    user.granted = [g for g in user.granted if g.name in wanted]
    have = {g.name for g in user.granted}
    user.granted.extend(UserPermission(name=name) for name in sorted(wanted - have))


def _grants(data: dict) -> set[str]:
    """The named permissions to store: those asked for beyond what the role already gives."""
    if data.get("role") == "partner":
        return set()
    asked = set(data.get("permissions") or ()) & set(PERMISSIONS)
    return asked - ROLE_PERMISSIONS.get(data.get("role"), set())


def _check(user: User, data: dict, actor: User) -> None:
    """Refuse what the form alone cannot see: duplicates, bad references, cycles, self lock-out."""
    errors: dict[str, str] = {}
    role = data.get("role")
    if role not in ROLES:
        errors["role"] = _("Choose a role.")
    if email_taken(data.get("email") or "", user.id):
        errors["email"] = _("Another user already has this email address.")
    company = db.session.get(PartnerCompany, data["company_id"]) if data.get("company_id") else None
    if role == "partner" and company is None:
        errors["company_id"] = _("A partner user must belong to a partner company.")
    elif role != "partner" and data.get("company_id"):
        errors["company_id"] = _("Only partner users belong to a partner company.")
    if role == "partner" and data.get("permissions"):
        errors["permissions"] = _("Partner users cannot be given permissions.")
    supervisor_error = _supervisor_error(user, data.get("supervisor_id"))
    if supervisor_error:
        errors["supervisor_id"] = supervisor_error
    if user.id is not None and user.id == actor.id:
        errors.update(_self_lockout(user, data))
    if errors:
        raise InvalidData(errors)


def email_taken(email: str, exclude_id: int | None = None) -> bool:
    """Whether another user has this email, whatever its case."""
    stmt = select(User.id).where(func.lower(User.email) == email.strip().lower())
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.execute(stmt.limit(1)).first() is not None


def _supervisor_error(user: User, supervisor_id: int | None) -> str | None:
    if not supervisor_id:
        return None
    supervisor = db.session.get(User, supervisor_id)
    if supervisor is None or supervisor.is_partner:
        return _("The supervisor must be an internal user.")
    if user.id is not None and creates_cycle(user, supervisor):
        return _("%(name)s is supervised, directly or not, by this user: that would be a cycle.",
                 name=supervisor.name) if supervisor.id != user.id else _("A user cannot supervise themselves.")
    return None


def creates_cycle(user: User, supervisor: User) -> bool:
    """Whether making `supervisor` the supervisor of `user` closes a loop in the chain."""
    seen: set[int] = set()
    current: User | None = supervisor
    while current is not None and current.id not in seen:
        if current.id == user.id:
            return True
        seen.add(current.id)
        current = current.supervisor
    return False


def _self_lockout(user: User, data: dict) -> dict[str, str]:
    """An administrator may not deactivate or demote themselves (nobody else could undo it)."""
    errors = {}
    if not data.get("active"):
        errors["active"] = _("You cannot deactivate your own account; ask another administrator.")
    if user.role == "admin" and data.get("role") != "admin":
        errors["role"] = _("You cannot demote yourself; ask another administrator.")
    elif "settings.manage" not in ROLE_PERMISSIONS.get(data.get("role"), set()) | _grants(data):
        errors["permissions"] = _("You cannot remove your own permission to manage settings.")
    return errors
