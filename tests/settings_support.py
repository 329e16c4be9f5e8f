"""Helpers shared by the settings tests: form data as the pages post it, counts and fresh reads."""

from sqlalchemy import func, select

from extensions import db
from models import Channel, PartnerCompany, User


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh() -> None:
    """Forget what this session holds: read what the requests committed, nothing else."""
    db.session.rollback()
    db.session.expire_all()


def user_data(**changes) -> dict:
    data = {"name": "Giulia Neri", "email": "giulia@example.com", "role": "agent", "company_id": "",
            "language": "it", "supervisor_id": "", "timezone": "Europe/Rome", "work_start": "08:30",
            "work_end": "17:00", "work_days": ["1", "2", "3", "4", "5"], "active": "y",
            "password": "s3cret-pass", "extra_permissions": []}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(user: User, **changes) -> dict:
    """The edit form as the page would post it for this user, with some fields changed."""
    data = user_data(name=user.name, email=user.email, role=user.role, company_id=user.company_id or "",
                     language=user.language or "", supervisor_id=user.supervisor_id or "",
                     timezone=user.timezone, work_start=user.work_start.strftime("%H:%M"),
                     work_end=user.work_end.strftime("%H:%M"), work_days=list(user.work_days),
                     active="y" if user.active else None, password="",
                     extra_permissions=[g.name for g in user.granted])
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def snapshot():
    fresh()
    return (
        [(u.name, u.email, u.role, u.active, u.password_hash) for u in db.session.scalars(select(User).order_by(User.id))],
        [(c.name, c.active) for c in db.session.scalars(select(PartnerCompany).order_by(PartnerCompany.id))],
        [(c.name, c.active) for c in db.session.scalars(select(Channel).order_by(Channel.id))],
    )
