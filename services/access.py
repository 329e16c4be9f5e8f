"""The one place for access rules: opportunity scoping (SPEC H3) and permission checks."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, or_, select

from extensions import db
from models import Opportunity, User


def scope_opportunities(stmt: Select, user: User | None = None) -> Select:
    """Restrict a query over Opportunity to what the user may see: partners see their company's only."""
    user = user or current_user
    if user.is_partner:
        company = user.company_id or -1
        stmt = stmt.where(or_(Opportunity.installer_id == company, Opportunity.commercial_id == company))
    return stmt


def visible_opportunities(user: User | None = None) -> Select:
    """Select every opportunity the user may see."""
    return scope_opportunities(select(Opportunity), user)


def get_opportunity_or_404(opportunity_id: int, user: User | None = None, options=()) -> Opportunity:
    """The opportunity if the user may see it; otherwise 404, never a hint that it exists. `options`: loader
    options for what the caller reads with it."""
    stmt = scope_opportunities(select(Opportunity).options(*options).where(Opportunity.id == opportunity_id), user)
    opp = db.session.execute(stmt).scalar_one_or_none()
    if opp is None:
        abort(404)
    return opp


def internal_required(view):
    """Internal users only: partner users get the 404 any out-of-scope page gives."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.is_partner:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def permission_required(permission: str):
    """Internal users holding the named permission; others 403, partners 404."""

    def decorator(view):
        @wraps(view)
        @internal_required
        def wrapper(*args, **kwargs):
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
