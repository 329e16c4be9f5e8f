"""Opening and closing the substates of an opportunity (SPEC E1): one service for the UI, jobs and API."""

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.orm import make_transient_to_detached, selectinload

from engine import along
from extensions import db
from models import Action, Opportunity, OpportunitySubstate, State, Substate, SubstateEvent, User
from models.base import utcnow
from services import ServiceError, close_requirements, events
from services.events import Chain, SubstateChange


@dataclass
class SubstateRow:
    substate: Substate
    record: OpportunitySubstate | None

    @property
    def status(self) -> str:
        return self.record.status if self.record else "pending"


def flow_of(opp: Opportunity) -> list[tuple[State, list[SubstateRow]]]:
    """The opportunity's flow: each state with its substates and where the opportunity stands on each."""
    records = {
        r.substate_id: r
        for r in db.session.execute(
            select(OpportunitySubstate).where(OpportunitySubstate.opportunity_id == opp.id)
        ).scalars()
    }
    # The type's states with their substates in two statements (a state's substates read one by one cost a
    # statement per state). Archived states and substates are left out, unless this opportunity has been
    # through them.
    states = db.session.execute(select(State).where(State.type_id == opp.type_id).order_by(State.position)
                                .options(selectinload(State.substates))).scalars()
    flow = []
    for state in states:
        rows = [SubstateRow(sub, records.get(sub.id)) for sub in state.substates
                if not (sub.archived or state.archived) or sub.id in records]
        if rows:
            flow.append((state, rows))
    return flow


def may_act(user: User, substate: Substate) -> bool:
    """Internal users who edit opportunities may act on any substate; partners on those marked for them."""
    if user.is_partner:
        return substate.partner_can_act
    return user.can("opportunities.edit")


# Built once with bind parameters: this runs for every substate an action opens or closes.
_SUBSTATE_OF = select(Substate).join(State).where(Substate.id == bindparam("substate_id"),
                                                  State.type_id == bindparam("type_id"))
# …and with it the substate's actions that make runs, for the engine to create them (engine.triggers).
_SUBSTATE_AND_RECORD = (
    select(Substate, OpportunitySubstate, Action).join(State)
    .outerjoin(OpportunitySubstate, and_(OpportunitySubstate.substate_id == Substate.id,
                                         OpportunitySubstate.opportunity_id == bindparam("opportunity_id")))
    .outerjoin(Action, and_(Action.substate_id == Substate.id, Action.makes_runs()))
    .where(Substate.id == bindparam("substate_id"), State.type_id == bindparam("type_id"))
    .order_by(Action.position, Action.id)
    .options(selectinload(Action.channels))
)

# On the tables rather than the mapped classes: the ORM's bulk-insert path cost more per opening than the
# statements themselves (bench/pipeline.py), and the record is made persistent from what was inserted.
_INSERT_OPEN = insert(OpportunitySubstate.__table__).values(
    opportunity_id=bindparam("opportunity_id"), substate_id=bindparam("substate_id"), status="open",
    opened_at=bindparam("opened_at"), opened_by_id=bindparam("opened_by_id")
).returning(OpportunitySubstate.__table__.c.id)

_INSERT_EVENT = insert(SubstateEvent.__table__).values(
    opportunity_id=bindparam("opportunity_id"), substate_id=bindparam("substate_id"), event=bindparam("event"),
    at=bindparam("at"), user_id=bindparam("user_id"))
# A first opening by the engine, written with the run's outcome (Known.with_outcome): two writes of their own,
# as PostgreSQL takes no WITH inside a WITH, their parameters named as no column of action_run is (engine.along).
_INSERT_OPEN_LATER = along.Insert(OpportunitySubstate.__table__, {
    "opportunity_id": bindparam("o_opportunity"), "substate_id": bindparam("o_substate"), "status": "open",
    "opened_at": bindparam("o_at"), "opened_by_id": bindparam("o_user")})
_LOG_OPEN_LATER = along.Insert(SubstateEvent.__table__, {
    "opportunity_id": bindparam("o_opportunity"), "substate_id": bindparam("o_substate"), "event": "opened",
    "at": bindparam("o_at"), "user_id": bindparam("o_user")})
# PostgreSQL writes the record and its timeline event in one statement (a data-modifying WITH, which SQLite
# lacks): a round trip fewer for every opening, and the engine opens a substate for every "open substate" run.
_INSERT_OPEN_AND_LOG = _INSERT_OPEN.add_cte(insert(SubstateEvent.__table__).values(
    opportunity_id=bindparam("opportunity_id"), substate_id=bindparam("substate_id"), event="opened",
    at=bindparam("opened_at"), user_id=bindparam("opened_by_id")).cte("logged"))


# A substate's actions that make runs (in order), when what the caller knows says it has any (Known).
_ACTIONS_OF = (select(Action).where(Action.substate_id == bindparam("substate_id"), Action.makes_runs())
               .order_by(Action.position, Action.id).options(selectinload(Action.channels)))


@dataclass
class Known:
    """What the engine read with an "open/close substate" run (engine.kinds._substate): the configured substate
    (None when it does not exist), its state's opportunity type, the opportunity's record on it, and whether it
    has actions; and
    `with_outcome` (engine.executor.with_outcome), which makes a first opening's record and timeline event go
    with the run's outcome (on PostgreSQL, in its statement)."""

    substate: Substate | None
    type_id: int | None
    record: OpportunitySubstate | None
    has_actions: bool
    with_outcome: Callable | None = None


def _not_in_flow() -> ServiceError:
    return ServiceError(_("This substate does not belong to the flow of this opportunity."), 404)


def _substate_of(opp: Opportunity, substate_id: int) -> Substate:
    substate = db.session.execute(_SUBSTATE_OF, {"substate_id": substate_id, "type_id": opp.type_id}
                                  ).scalar_one_or_none() if isinstance(substate_id, int) else None
    if substate is None:
        raise _not_in_flow()
    return substate


def _substate_and_record(opp: Opportunity, substate_id: int, known: Known | None = None
                         ) -> tuple[Substate, OpportunitySubstate | None, list[Action]]:
    """The substate of the opportunity's flow, where the opportunity stands on it, and the substate's actions
    that make runs (in order), in one statement (and one more for those actions' channels, when it has any);
    or from what the caller already read (`known`), with statements only for the actions, when it has some."""
    if known is not None:
        if known.substate is None or known.type_id != opp.type_id:
            raise _not_in_flow()
        actions = (db.session.execute(_ACTIONS_OF, {"substate_id": known.substate.id}).scalars().all()
                   if known.has_actions else [])
        return known.substate, known.record, actions
    rows = db.session.execute(_SUBSTATE_AND_RECORD, {"opportunity_id": opp.id, "substate_id": substate_id,
                                                     "type_id": opp.type_id}
                              ).all() if isinstance(substate_id, int) else []
    if not rows:
        raise _not_in_flow()
    return rows[0][0], rows[0][1], [row[2] for row in rows if row[2] is not None]


def open_substate(opp: Opportunity, substate_id: int, user: User | None,
                  chain: Chain | None = None, on_behalf_of_id: int | None = None,
                  known: Known | None = None) -> OpportunitySubstate:
    """Open a substate, recording who and when (user None: automation), and announce it
    (events.substate_opened): the engine creates its action runs in the same transaction; they are
    enqueued after the caller commits. Automation may record the opening on behalf of a user
    (`on_behalf_of_id`, a trigger's "change as"): only the recorded user changes, not who acts. `known`: the
    substate and record as the caller read them (the engine, with the run)."""
    substate, record, actions = _substate_and_record(opp, substate_id, known)
    if user is not None and not may_act(user, substate):
        raise ServiceError(_("You may not change this substate."), 403)
    if record is not None and record.status == "open":
        raise ServiceError(_("“%(name)s” is already open.", name=substate.label), 409)
    now, user_id = utcnow(), user.id if user else on_behalf_of_id
    if record is None and known is not None and known.with_outcome is not None:
        record = _open_with_outcome(opp, substate, now, user_id, known.with_outcome)
    elif record is None:
        record = _insert_open(opp, substate, now, user_id)
    else:
        record.status = "open"
        record.opened_at, record.opened_by_id = now, user_id
        record.closed_at, record.closed_by_id = None, None
        _log(opp, substate, "opened", now, user_id)
    events.substate_opened.send(opp, change=SubstateChange(opp, substate, now, user, chain or Chain(), actions))
    return record


def _insert_open(opp: Opportunity, substate: Substate, now, user_id: int | None) -> OpportunitySubstate:
    """The first opening's record and timeline event, by INSERT … RETURNING id (cheaper than the unit of work's
    flush, for every opening): one statement on PostgreSQL, two on SQLite."""
    together = db.engine.dialect.name == "postgresql"
    record_id = db.session.execute(_INSERT_OPEN_AND_LOG if together else _INSERT_OPEN,
                                   {"opportunity_id": opp.id, "substate_id": substate.id, "opened_at": now,
                                    "opened_by_id": user_id}).scalar_one()
    if not together:
        _log(opp, substate, "opened", now, user_id)
    return _persistent(OpportunitySubstate(
        id=record_id, opportunity_id=opp.id, substate_id=substate.id, status="open", opened_at=now,
        opened_by_id=user_id, closed_at=None, closed_by_id=None))


def _open_with_outcome(opp: Opportunity, substate: Substate, now, user_id: int | None,
                       with_outcome: Callable) -> OpportunitySubstate:
    """A first opening by the engine: its record and timeline event are written with the run's outcome (on
    PostgreSQL in the same statement: one round trip fewer per opening), dropped with the run's work if it
    fails. Until then neither is in the database: what reacts to the opening in the same transaction (the
    engine's runs for the substate's actions, webhooks) is told by the event, not by the table. The record
    returned is not the session's."""
    params = {"o_opportunity": opp.id, "o_substate": substate.id, "o_at": now, "o_user": user_id}
    with_outcome(_INSERT_OPEN_LATER, params)
    with_outcome(_LOG_OPEN_LATER, params)
    return OpportunitySubstate(opportunity_id=opp.id, substate_id=substate.id, status="open", opened_at=now,
                               opened_by_id=user_id)


def _persistent(record: OpportunitySubstate) -> OpportunitySubstate:
    """The row just inserted, as the session's object for it, with every column as inserted (no reload)."""
    make_transient_to_detached(record)
    db.session.add(record)
    return record


def _log(opp: Opportunity, substate: Substate, event: str, at, user_id: int | None) -> None:
    """Append to the timeline; a plain insert, as this runs for every change the automation makes."""
    db.session.execute(_INSERT_EVENT, {"opportunity_id": opp.id, "substate_id": substate.id, "event": event,
                                       "at": at, "user_id": user_id})


def close_substate(opp: Opportunity, substate_id: int, user: User | None, chain: Chain | None = None, *,
                   values: dict | None = None, note: str | None = None, canonical: bool = False,
                   known: Known | None = None) -> OpportunitySubstate:
    """Close an open substate, recording who and when, and announce it (events.substate_closed): the
    engine cancels its scheduled runs and creates the on-close runs in the same transaction. A person's
    close first needs the substate's required fields and note (services.close_requirements): `values`
    gives the missing ones ({field reference: as typed}, or JSON values when `canonical`: the API), saved once
    the substate is closed. `known`: as for open_substate."""
    substate, record, actions = _substate_and_record(opp, substate_id, known)
    if user is not None and not may_act(user, substate):
        raise ServiceError(_("You may not change this substate."), 403)
    if record is None or record.status != "open":
        raise ServiceError(_("“%(name)s” is not open.", name=substate.label), 409)
    if user is not None:
        parsed, note = close_requirements.check(opp, substate, values, note, canonical)
    now, chain = utcnow(), chain or Chain()
    record.status = "closed"
    record.closed_at, record.closed_by_id = now, user.id if user else None
    _log(opp, substate, "closed", now, record.closed_by_id)
    events.substate_closed.send(opp, change=SubstateChange(opp, substate, now, user, chain, actions))
    if user is not None:
        close_requirements.apply(opp, substate, parsed, note, user, chain)
    return record
