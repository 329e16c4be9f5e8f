"""History tab Notifications (seed 002, M1 Notify supervisor): one row per recipient of a run's message —
sent, read, or the run's own status (a run skipped for want of a supervisor has no notification, and one
row saying why)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import and_, case

from models import ActionRun, Notification, User
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_statuses,
    status_column,
    waiting_or_ended,
    when_column,
)
from services.history.shown import ended_shown, user_matches

SENT = _l("Sent")
READ = lazy_pgettext("notification", "Read")


def _status(row) -> tuple[str, str]:
    note = row[2]
    if note is None:
        return waiting_or_ended(row, lambda: (row[0].status_label, "succeeded"))
    return waiting_or_ended(row, lambda: (READ, "succeeded") if note.read_at else (SENT, "scheduled"))


def _status_shown():
    done = case((Notification.read_at.is_not(None), "read"), (Notification.id.is_not(None), "sent"),
                else_=ActionRun.status)
    return ended_shown(done, {"read": READ, "sent": SENT})


STATUSES = {
    "sent": (SENT, and_(ActionRun.status == "succeeded", Notification.id.is_not(None),
                        Notification.read_at.is_(None))),
    "read": (READ, and_(ActionRun.status == "succeeded", Notification.read_at.is_not(None))),
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="notifications", label=_l("Notifications"), kinds=("notify_supervisor",), position=90,
    entities=(Notification, User.name),
    join=lambda stmt: stmt.outerjoin(Notification, Notification.run_id == ActionRun.id)
    .outerjoin(User, User.id == Notification.user_id),
    detail_id=Notification.id,
    # The supervisor's messages about a partner's opportunities are not the partner's to read: a partner
    # sees only the notifications addressed to them.
    partner_only=lambda user: Notification.user_id == user.id,
    columns=[
        opportunity_column(),
        Column("recipient", _l("Recipient"), User.name, lambda row: row[3] or "",
               match=user_matches(Notification.user_id)),
        Column("message", _l("Message"), Notification.body, lambda row: row[2].body if row[2] else ""),
        when_column(),
        status_column(STATUSES, _status, _status_shown),
    ],
))
