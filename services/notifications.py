"""In-app notifications (SPEC P5): created in the caller's transaction, read on the list page. Later kinds
(notify supervisor…) add a text to NOTIFICATION_TEXTS and call `notify`."""

from sqlalchemy import func, select, update

from extensions import db
from models import ActionRun, Assignment, Opportunity, User
from models.base import utcnow
from models.notifications import Notification

PAGE = 50


def notify(user_ids, kind: str, params: dict, link: str | None = None, body: str | None = None,
           run_id: int | None = None) -> None:
    """One notification per user, in the current transaction; `body` is a text a person wrote (M1), `run_id`
    the run that sent it (the history's Notifications tab)."""
    for user_id in dict.fromkeys(user_ids):
        db.session.add(Notification(user_id=user_id, kind=kind, params=params, link=link, created_at=utcnow(),
                                    body=body, run_id=run_id))


def opportunity_link(opportunity_id: int) -> str:
    return _opportunity_link(opportunity_id)


def _opportunity_link(opportunity_id: int) -> str:
    return f"/opportunities/{opportunity_id}"


def assignment_created(assignment: Assignment) -> None:
    """Every active user of the assigned company hears of it."""
    opp = db.session.get(Opportunity, assignment.opportunity_id)
    users = db.session.execute(select(User.id).where(User.company_id == assignment.company_id,
                                                     User.active.is_(True))).scalars()
    notify(users, "assignment", {"opportunity": opp.name}, _opportunity_link(opp.id))


def run_failed(run: ActionRun, error: str) -> None:
    """The opportunity's responsible user hears of a final failure."""
    opp = db.session.get(Opportunity, run.opportunity_id)
    if opp is not None and opp.owner_id:
        notify([opp.owner_id], "run_failed", {"opportunity": opp.name, "error": (error or "")[:300]},
               _opportunity_link(opp.id))


def unread_count(user: User) -> int:
    """How many notifications the user has not read."""
    stmt = select(func.count()).select_from(Notification).where(Notification.user_id == user.id,
                                                                Notification.read_at.is_(None))
    return db.session.execute(stmt).scalar_one()


def list_and_mark_read(user: User) -> list[Notification]:
    """The user's latest notifications; the unread ones among them are now read."""
    items = list(db.session.execute(select(Notification).where(Notification.user_id == user.id)
                                    .order_by(Notification.id.desc()).limit(PAGE)).scalars())
    unread = [n.id for n in items if n.read_at is None]
    if unread:
        db.session.execute(update(Notification).where(Notification.id.in_(unread)).values(read_at=utcnow())
                           .execution_options(synchronize_session=False))
    return items


def of_user(user: User, unread_only: bool = False):
    """Select the user's own notifications (the unread ones only, when asked), for a list to page."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    return stmt.where(Notification.read_at.is_(None)) if unread_only else stmt


def mark_read(user: User, notification_id: int) -> Notification | None:
    """Mark one of the user's notifications read (kept as it was if already read); None if it is not theirs."""
    item = db.session.execute(of_user(user).where(Notification.id == notification_id)).scalar_one_or_none()
    if item is not None and item.read_at is None:
        item.read_at = utcnow()
    return item


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; how many there were."""
    return db.session.execute(update(Notification).where(Notification.user_id == user.id,
                                                         Notification.read_at.is_(None))
                              .values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
