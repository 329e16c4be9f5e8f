"""Opportunity queries and mutations shared by the list, the detail page and (later) the API."""

from dataclasses import dataclass, field, replace
from decimal import Decimal

from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from extensions import db
from models import Channel, Customer, Opportunity, OpportunitySubstate, OpportunityType, State, Substate, User
from services import ServiceError, opportunity_fields
from services import field_values as fv
from services.access import visible_opportunities
from services.locale_input import InputRefused
from services.validation import InvalidData, record_id_or_none


@dataclass
class OpportunityFilters:
    type_id: int | None = None
    channel_id: int | None = None
    state_id: int | None = None
    q: str = ""
    # Custom and system field filters (services.opportunity_fields.read_filters).
    fields: list = field(default_factory=list)


def filters_from(args, fields: list) -> tuple[OpportunityFilters, dict[str, str]]:
    """The list's filters from its query string (the list page, and Run now on what it shows), and a message per
    field filter that does not read; an id that does not read filters on nothing."""
    read = opportunity_fields.read_filters(args, fields)
    return OpportunityFilters(
        type_id=args.get("type", type=record_id_or_none), channel_id=args.get("channel", type=record_id_or_none),
        state_id=args.get("state", type=record_id_or_none), q=(args.get("q") or "")[:100], fields=read.filters,
    ), read.errors


def search(filters: OpportunityFilters, user: User | None = None) -> Select:
    """The user's visible opportunities matching the filters, newest first."""
    # Five small statements, not joins: joined in, PostgreSQL spent 4 ms planning the page's statement and
    # SQLite's planner left the newest-first walk for a sort.
    stmt = visible_opportunities(user).options(
        selectinload(Opportunity.customer),
        selectinload(Opportunity.type),
        selectinload(Opportunity.channel),
        selectinload(Opportunity.installer),
        selectinload(Opportunity.commercial),
    )
    if filters.type_id:
        stmt = stmt.where(Opportunity.type_id == filters.type_id)
    if filters.channel_id:
        stmt = stmt.where(Opportunity.channel_id == filters.channel_id)
    if filters.state_id:
        # The state's substates are read first, so the planner sees how many rows they match (through a join
        # to substate PostgreSQL guessed 139 of 33,000 and hashed them all: 90 ms); then a correlated EXISTS
        # lets the list walk opportunities newest first and stop at a page, one index probe each.
        substate_ids = list(db.session.execute(
            select(Substate.id).where(Substate.state_id == filters.state_id)).scalars()) or [-1]
        open_in_state = (
            select(OpportunitySubstate.id)
            .where(OpportunitySubstate.opportunity_id == Opportunity.id,
                   OpportunitySubstate.substate_id.in_(substate_ids), OpportunitySubstate.status == "open")
        )
        stmt = stmt.where(open_in_state.exists())
    for flt in filters.fields:
        stmt = stmt.where(opportunity_fields.condition(flt))
    q = (filters.q or "").strip()
    if q:
        stmt = stmt.where(_words(q))
    return stmt.order_by(Opportunity.created_at.desc(), Opportunity.id.desc())


# Past this many names (or customers) matching the words, the list filters as it walks instead.
WORD_MATCH_CAP = 1_000


def _words(q: str):
    """The opportunities whose name, or whose customer's name or email, holds the words.

    On PostgreSQL matches are looked up first, through the trigram indexes (models.search_index), and the
    list then fetches those ids. Filtering while walking the list newest first costs as many rows as precede
    the page's last match: "Opportunity 0421" walked 58,000 names (60 ms); the planner cannot know how rare a
    word is. A word so common that over WORD_MATCH_CAP match is met early on that walk, so then the plain
    filter serves. SQLite has no such index: a lookup would read whole tables, while the walk stops at a page."""
    # What the user typed is matched as typed: "%" and "_" are characters, not wildcards.
    like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    def has(column):
        return column.ilike(like, escape="\\")

    customers = select(Customer.id).where(or_(has(Customer.name), has(Customer.email)))
    plain = or_(has(Opportunity.name), Opportunity.customer_id.in_(customers))
    if db.session.get_bind().dialect.name != "postgresql":
        return plain
    # In the list's order: a common word is then met within the first rows walked (an unordered lookup may
    # scan the whole table first), a rare one is found through the index and sorted.
    named = db.session.execute(select(Opportunity.id).where(has(Opportunity.name))
                               .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
                               .limit(WORD_MATCH_CAP + 1)).scalars().all()
    if len(named) > WORD_MATCH_CAP:
        return plain
    customer_ids = db.session.execute(customers.limit(WORD_MATCH_CAP + 1)).scalars().all()
    if len(customer_ids) > WORD_MATCH_CAP:
        return plain
    return or_(Opportunity.id.in_(named or [-1]), Opportunity.customer_id.in_(customer_ids or [-1]))


# The list counts at most this many matches (as the history counts): past it, "More than 10,000". A count
# through custom-field filters costs an index probe per field per row, so it stops at 1,000.
COUNT_CAP, FIELD_COUNT_CAP = 10_000, 1_000


class _Pagination(SelectPagination):
    """A page of the list counted first (up to a cap: `more` says there are more), so the page's own query can
    take the form that suits how many match."""

    more = False

    def _query_items(self) -> list:
        args = self._query_args
        found = args["session"].execute(args["count_select"]).scalar_one()
        self.more, self._total = found > args["cap"], min(found, args["cap"])
        stmt = args["select"] if found >= args["cap"] else args["few_select"]
        return list(args["session"].execute(stmt.limit(self.per_page).offset(self._query_offset)).unique().scalars())

    def _query_count(self) -> int:
        return self._total

    @property
    def count_text(self) -> str:
        """"9 opportunities", or "More than 10,000 opportunities" past the cap, in the page's language."""
        if self.more:
            return ngettext("More than %(count)s opportunity", "More than %(count)s opportunities", self.total,
                            count=format_number(self.total))
        return ngettext("%(num)d opportunity", "%(num)d opportunities", self.total)


def _statements(filters: OpportunityFilters, user: User | None) -> dict:
    """The list's statements: the page when many match, the page when few do, and the capped count. With
    custom-field filters the count (and the page of few) is driven from the filter that matches fewest field
    values (services.opportunity_fields.join_start), the others checked per row; the page of many walks the
    opportunities newest first (EXISTS) and stops at a page."""
    start = opportunity_fields.counting_start(filters.fields)
    if start is None:
        few, cap = search(filters, user), COUNT_CAP
    else:
        rest = replace(filters, fields=[f for f in filters.fields if f is not start])
        few, cap = opportunity_fields.join_start(search(rest, user), start), FIELD_COUNT_CAP
    counted = few.options(lazyload("*")).order_by(None).with_only_columns(Opportunity.id).limit(cap + 1)
    return {"select": search(filters, user), "few_select": few, "cap": cap,
            "count_select": select(func.count()).select_from(counted.subquery())}


def paginate(filters: OpportunityFilters, per_page: int, user: User | None = None) -> SelectPagination:
    """The page of the list the request asks for (`page` argument), with the (capped) total of matches."""
    return _Pagination(session=db.session(), per_page=per_page, error_out=False, **_statements(filters, user))


def open_substates_by_opportunity(opportunity_ids: list[int]) -> dict[int, list[Substate]]:
    """Open substates of many opportunities in one query, for list rows."""
    result: dict[int, list[Substate]] = {oid: [] for oid in opportunity_ids}
    if not opportunity_ids:
        return result
    # The substates and their states in the same statement: rows show "state › substate".
    rows = db.session.execute(
        select(OpportunitySubstate.opportunity_id, Substate)
        .join(Substate, Substate.id == OpportunitySubstate.substate_id)
        .options(joinedload(Substate.state))
        .where(OpportunitySubstate.opportunity_id.in_(opportunity_ids), OpportunitySubstate.status == "open")
        .order_by(OpportunitySubstate.id)
    )
    for opportunity_id, substate in rows:
        result[opportunity_id].append(substate)
    return result


def filter_choices() -> dict:
    """Types, channels and states offered by the list's filters."""
    types = db.session.execute(select(OpportunityType).order_by(OpportunityType.name)).scalars().all()
    channels = db.session.execute(select(Channel).order_by(Channel.name)).scalars().all()
    states = db.session.execute(
        select(State).join(OpportunityType).order_by(OpportunityType.name, State.position)
    ).scalars().all()
    return {"types": types, "channels": channels, "states": states}


def _check_refs(data: dict, opp: Opportunity | None = None) -> None:
    checks = [
        (OpportunityType, "type_id", _("Choose an opportunity type.")),
        (Channel, "channel_id", _("Choose a channel.")),
        (Customer, "customer_id", _("Choose a customer.")),
    ]
    for model, key, message in checks:
        if not data.get(key) or db.session.get(model, data[key]) is None:
            raise ServiceError(message)
    channel = db.session.get(Channel, data["channel_id"])
    if not channel.active and (opp is None or opp.channel_id != channel.id):
        raise ServiceError(_("This channel is deactivated; choose another one."))
    if data.get("amount") is not None and Decimal(data["amount"]) < 0:
        raise ServiceError(_("The amount cannot be negative."))


FIELDS = ("name", "type_id", "channel_id", "customer_id", "owner_id", "amount", "postal_code", "province", "notes")


def _clean(data: dict) -> dict:
    """The known fields, text stripped and empty optional text stored as NULL."""
    out = {k: data.get(k) for k in FIELDS}
    for key, value in out.items():
        if isinstance(value, str):
            out[key] = value.strip() or None
    out["amount"] = out["amount"] if out["amount"] is not None else Decimal("0")
    return out


def _system_values(data: dict) -> dict:
    """The system fields the data names (company name, contact person, acquisition source), read as the
    field-value service reads them: so the form and the page's inline edit accept the same."""
    values, errors = {}, {}
    for key in fv.SYSTEM_FIELDS:
        if key in data:
            try:
                values[key] = fv.parse(fv.system_ref(key), data[key])
            except InputRefused as err:
                errors[key] = err.message
    if errors:
        raise InvalidData(errors)
    return values


def _store_system_fields(opp: Opportunity, values: dict, user: User | None) -> None:
    """Save them through the field-value service, which announces each change: a process automation or a
    field trigger follows whether the field was filled here or on the page."""
    for key, value in values.items():
        fv.store(opp, fv.system_ref(key), value, user)


def create_opportunity(data: dict, user: User | None = None) -> Opportunity:
    """Create an opportunity from validated form data."""
    _check_refs(data)
    system = _system_values(data)
    opp = Opportunity(**_clean(data))
    db.session.add(opp)
    db.session.flush()
    _store_system_fields(opp, system, user)
    return opp


def update_opportunity(opp: Opportunity, data: dict, user: User | None = None) -> Opportunity:
    """Update an opportunity; its type cannot change once substates were opened on it."""
    _check_refs(data, opp)
    if data["type_id"] != opp.type_id and opp.substates:
        raise ServiceError(_("The type cannot change once the flow has started on this opportunity."))
    system = _system_values(data)
    for key, value in _clean(data).items():
        setattr(opp, key, value)
    db.session.flush()
    _store_system_fields(opp, system, user)
    return opp
