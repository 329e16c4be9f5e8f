"""History tab Assignment: runs that assigned an installer or a commercial company, and its answer."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, literal

from models import ActionRun, Assignment, PartnerCompany
from models.work import ASSIGNMENT_STATUSES
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
from services.history.shown import ended_shown

NOT_ACCEPTED = _l("Not accepted")


def _status(row):
    assignment = row[2]
    if assignment is None:
        return waiting_or_ended(row, lambda: (NOT_ACCEPTED, "pending"))
    css = "succeeded" if assignment.status == "accepted" else "pending"
    return waiting_or_ended(row, lambda: (assignment.status_label, css))


def _status_shown():
    """_status in SQL: "answer:" and the company's answer, or not accepted while none was assigned."""
    done = case((Assignment.id.is_(None), "not_accepted"), else_=literal("answer:") + Assignment.status)
    labels = {f"answer:{key}": label for key, label in ASSIGNMENT_STATUSES.items()}
    return ended_shown(done, {**labels, "not_accepted": NOT_ACCEPTED})


STATUSES = {
    "accepted": (ASSIGNMENT_STATUSES["accepted"], Assignment.status == "accepted"),
    "not_accepted": (NOT_ACCEPTED, Assignment.status.in_(("pending", "rejected", "replaced"))),
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="assignment", label=_l("Assignment"), kinds=("assign_installer", "assign_commercial"), position=40,
    entities=(Assignment, PartnerCompany.name),
    join=lambda stmt: stmt.outerjoin(Assignment, Assignment.run_id == ActionRun.id)
    .outerjoin(PartnerCompany, PartnerCompany.id == Assignment.company_id),
    # Like the opportunity page: a partner sees its own company's assignments, not the others'.
    partner_only=lambda user: Assignment.company_id.is_(None) | (Assignment.company_id == (user.company_id or -1)),
    columns=[
        Column("company", _l("Assigned company"), PartnerCompany.name, lambda row: row[3] or "", filter="select"),
        opportunity_column(),
        when_column(),
        status_column(STATUSES, _status, _status_shown),
    ],
))
