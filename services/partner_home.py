"""A partner user's home (issue 6): their company's opportunities, new assignments to answer, and the
substates they may act on — all through the one scoping helper."""

from sqlalchemy import select

from extensions import db
from models import Assignment, Opportunity, Substate, User
from models.flow import State
from services.access import visible_opportunities

LIMIT = 100


def partner_home(user: User) -> dict:
    """Pending assignments of the user's company, its opportunities, and the substates partners act on."""
    opps = list(db.session.execute(visible_opportunities(user).order_by(Opportunity.id.desc()).limit(LIMIT)).scalars())
    ids = [o.id for o in opps]
    pending = list(db.session.execute(
        select(Assignment).where(Assignment.opportunity_id.in_(ids), Assignment.status == "pending",
                                 Assignment.company_id == (user.company_id or -1))
        .order_by(Assignment.id.desc())).scalars()) if ids else []
    type_ids = {o.type_id for o in opps}
    subs = db.session.execute(
        select(Substate, State.type_id).join(State, State.id == Substate.state_id)
        .where(State.type_id.in_(type_ids), Substate.partner_can_act.is_(True))
        .order_by(State.position, Substate.position)).all() if type_ids else []
    actable: dict[int, list[Substate]] = {}
    for sub, type_id in subs:
        actable.setdefault(type_id, []).append(sub)
    return {"opportunities": opps, "pending": pending, "actable": actable}
