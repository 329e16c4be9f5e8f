"""Opportunity types, states and substates: create, rename, archive, delete, and keep them in order.

Positions are dense (0..n-1) within each parent after every change (docs/architecture.md, conventions): every mutation
computes the parent's new list and renumbers it with enumerate.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from engine.kinds import KINDS, get_kind
from extensions import db
from models import Action, AssignmentRule, Opportunity, OpportunitySubstate, OpportunityType, State, Substate
from models.opportunity import SubstateEvent
from services import ServiceError, triggers
from services.validation import InvalidData, record_id

LANGS = ("it", "es", "en")


# -- names ---------------------------------------------------------------------------------------------

def clean_names(name: str | None, translations: dict | None) -> tuple[str, dict]:
    """The fallback name (required, at most 120 characters) and the non-empty translations among it/es/en."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Enter a name.")
    elif len(name) > 120:
        errors["name"] = _("At most %(max)d characters.", max=120)
    i18n = {}
    for lang, value in (translations or {}).items():
        value = (value or "").strip()
        if lang in LANGS and value:
            if len(value) > 120:
                errors[f"name_{lang}"] = _("At most %(max)d characters.", max=120)
            i18n[lang] = value
    if errors:
        raise InvalidData(errors)
    return name, i18n


def _refuse_duplicate(name: str, siblings, what: str) -> None:
    taken = {s.name.casefold() for s in siblings}
    if name.casefold() in taken:
        raise InvalidData({"name": _("There is already %(what)s named “%(name)s”.", what=what, name=name)})


def _renumber(items) -> None:
    for index, item in enumerate(items):
        item.position = index


def _placed(items: list, item, index: int | None) -> list:
    """`items` without `item`, then `item` inserted at `index` (clamped; None means last)."""
    rest = [i for i in items if i is not item]
    index = len(rest) if index is None else max(0, min(index, len(rest)))
    rest.insert(index, item)
    return rest


# -- types ---------------------------------------------------------------------------------------------

def list_types() -> list[OpportunityType]:
    """Every opportunity type, active ones first, by name."""
    return list(db.session.execute(
        select(OpportunityType).order_by(OpportunityType.archived, OpportunityType.name)
    ).scalars())


def substate_groups(*, leave_out: int | None = None, last_type_id: int | None = None,
                    archived: bool = True) -> dict[str, list[tuple[int, str]]]:
    """Substates to pick across types: a group per type, options "State › Substate", in the user's language."""
    # By type because types share substate names (each has its "Contract sent"). Used by "Copy to…" in the
    # designer and by the external-source actions; WTForms renders the groups as optgroups.
    types = sorted(list_types(), key=lambda t: (t.id == last_type_id, t.archived, t.label.casefold()))
    groups: dict[str, list[tuple[int, str]]] = {}
    for opp_type in types:
        pairs = [(sub.id, f"{state.label} › {sub.label}")
                 for state in opp_type.states if archived or not state.archived
                 for sub in state.substates if sub.id != leave_out and (archived or not sub.archived)]
        if pairs:
            # Two types may read alike in one language (names are unique only as typed): keep both groups.
            key = opp_type.label if opp_type.label not in groups else f"{opp_type.label} ({opp_type.name})"
            groups.setdefault(key, []).extend(pairs)
    return groups


def create_type(name: str, translations: dict | None = None) -> OpportunityType:
    """Create an opportunity type (D1)."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, list_types(), _("an opportunity type"))
    opp_type = OpportunityType(name=name, name_i18n=i18n)
    db.session.add(opp_type)
    db.session.flush()
    return opp_type


def rename_type(opp_type: OpportunityType, name: str, translations: dict | None = None) -> OpportunityType:
    """Rename an opportunity type and its translations."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, [t for t in list_types() if t.id != opp_type.id], _("an opportunity type"))
    opp_type.name, opp_type.name_i18n = name, i18n
    db.session.flush()
    return opp_type


def set_type_archived(opp_type: OpportunityType, archived: bool) -> OpportunityType:
    """Archive a type (no new opportunities of it) or bring it back."""
    opp_type.archived = archived
    db.session.flush()
    return opp_type


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def delete_type(opp_type: OpportunityType) -> None:
    """Delete a type with its flow; refused while opportunities or assignment criteria use it."""
    used = _count(select(Opportunity.id).where(Opportunity.type_id == opp_type.id))
    if used:
        raise ServiceError(_("“%(name)s” cannot be deleted: %(count)s opportunities use it. Archive it instead.",
                             name=opp_type.label, count=used), 409)
    rules = _count(select(AssignmentRule.id).where(AssignmentRule.type_id == opp_type.id))
    if rules:
        raise ServiceError(_("“%(name)s” cannot be deleted: %(count)s assignment criteria refer to it.",
                             name=opp_type.label, count=rules), 409)
    db.session.delete(opp_type)
    db.session.flush()


# -- states --------------------------------------------------------------------------------------------

def create_state(opp_type: OpportunityType, name: str, translations: dict | None = None,
                 index: int | None = None) -> State:
    """Add a state to a type, last unless `index` is given (D2)."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, opp_type.states, _("a state"))
    state = State(name=name, name_i18n=i18n, type=opp_type)
    db.session.add(state)
    _renumber(_placed(list(opp_type.states), state, index))
    db.session.flush()
    _reload(opp_type, "states")
    return state


def rename_state(state: State, name: str, translations: dict | None = None) -> State:
    """Rename a state and its translations."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, [s for s in state.type.states if s is not state], _("a state"))
    state.name, state.name_i18n = name, i18n
    db.session.flush()
    return state


def set_state_archived(state: State, archived: bool) -> State:
    """Archive a state or bring it back."""
    state.archived = archived
    db.session.flush()
    return state


def move_state(state: State, index: int) -> State:
    """Put a state at `index` among its type's states."""
    opp_type = state.type
    _renumber(_placed(list(opp_type.states), state, index))
    db.session.flush()
    _reload(opp_type, "states")
    return state


def shift_state(state: State, delta: int) -> State:
    """Move a state one place left (-1) or right (+1); at either end nothing changes."""
    states = list(state.type.states)
    return move_state(state, max(0, states.index(state) + delta))


def delete_state(state: State) -> None:
    """Delete a state with its substates; refused while opportunities use one of them."""
    for sub in state.substates:
        _refuse_if_used(sub, outside={s.id for s in state.substates})
    opp_type = state.type
    _renumber([s for s in opp_type.states if s is not state])
    db.session.delete(state)
    db.session.flush()
    _reload(opp_type, "states")


# -- substates -----------------------------------------------------------------------------------------

def create_substate(state: State, name: str, translations: dict | None = None, index: int | None = None,
                    partner_can_act: bool = False) -> Substate:
    """Add a substate to a state, last unless `index` is given (D3)."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, state.type.substates, _("a substate in this type"))
    sub = Substate(name=name, name_i18n=i18n, state=state, partner_can_act=partner_can_act)
    db.session.add(sub)
    _renumber(_placed(list(state.substates), sub, index))
    db.session.flush()
    _reload(state, "substates")
    return sub


def update_substate(sub: Substate, name: str, translations: dict | None = None,
                    partner_can_act: bool | None = None) -> Substate:
    """Rename a substate and its translations; optionally set whether partner users may act on it."""
    name, i18n = clean_names(name, translations)
    _refuse_duplicate(name, [s for s in sub.state.type.substates if s is not sub], _("a substate in this type"))
    sub.name, sub.name_i18n = name, i18n
    if partner_can_act is not None:
        sub.partner_can_act = partner_can_act
    db.session.flush()
    return sub


def set_substate_archived(sub: Substate, archived: bool) -> Substate:
    """Archive a substate or bring it back."""
    sub.archived = archived
    db.session.flush()
    return sub


def move_substate(sub: Substate, state: State, index: int | None = None) -> Substate:
    """Put a substate at `index` in `state` (a state of the same type), renumbering the state it left."""
    if state.type_id != sub.state.type_id:
        raise ServiceError(_("A substate can only move within its own opportunity type."), 422)
    old = sub.state
    target = _placed(list(state.substates), sub, index)
    if old is not state:
        _renumber([s for s in old.substates if s is not sub])
        sub.state = state
    _renumber(target)
    db.session.flush()
    _reload(old, "substates")
    _reload(state, "substates")
    return sub


def shift_substate(sub: Substate, delta: int) -> Substate:
    """Move a substate one place up (-1) or down (+1); past either end of its state it goes to the
    neighbouring state (last of the previous, first of the next), so the keyboard can do what a drag does."""
    state = sub.state
    subs = list(state.substates)
    index = subs.index(sub) + delta
    if 0 <= index < len(subs):
        return move_substate(sub, state, index)
    states = list(state.type.states)
    neighbour = states.index(state) + (1 if delta > 0 else -1)
    if not 0 <= neighbour < len(states):
        return sub
    target = states[neighbour]
    return move_substate(sub, target, 0 if delta > 0 else None)


def delete_substate(sub: Substate) -> None:
    """Delete a substate and its actions; refused while opportunities or other actions use it."""
    _refuse_if_used(sub, outside={sub.id})
    state = sub.state
    _renumber([s for s in state.substates if s is not sub])
    db.session.delete(sub)
    db.session.flush()
    _reload(state, "substates")


def _refuse_if_used(sub: Substate, outside: set[int]) -> None:
    """Refuse to delete a substate that opportunities went through, or that actions or triggers of
    substates not being deleted with it (`outside` lists those that are) open, close or name."""
    used = _count(select(OpportunitySubstate.opportunity_id).where(OpportunitySubstate.substate_id == sub.id)
                  .union(select(SubstateEvent.opportunity_id).where(SubstateEvent.substate_id == sub.id)))
    if used:
        raise ServiceError(_("“%(name)s” cannot be deleted: %(count)s opportunities have been through it. "
                             "Archive it instead.", name=sub.label, count=used), 409)
    for action in actions_referring_to(sub):
        if action.substate_id not in outside:
            raise ServiceError(_("“%(name)s” cannot be deleted: an automatic action of “%(other)s” refers to "
                                 "it. Change or delete that action first.",
                                 name=sub.label, other=action.substate.label), 409)
    triggers.before_substate_deleted(sub, outside)


def actions_referring_to(sub: Substate) -> list[Action]:
    """Actions whose config names this substate: of the same type (open/close substate), or of any type for
    kinds that name substates across types (complete tasks)."""
    across = [key for key, kind in KINDS.items() if getattr(kind, "refers_across_types", False)]
    actions = db.session.execute(
        select(Action).join(Substate, Action.substate_id == Substate.id).join(State)
        .where(or_(State.type_id == sub.state.type_id, Action.kind.in_(across)))
    ).scalars()
    result = []
    for action in actions:
        kind = get_kind(action.kind)
        if kind and sub.id in kind.substate_refs(action.config or {}):
            result.append(action)
    return result


# -- the board: every state and substate in one order, as a drag leaves it ------------------------------

def parse_board(values: list[str]) -> list[tuple[int, list[int]]]:
    """["state:1", "substate:4", "substate:2", "state:3", …] → [(1, [4, 2]), (3, [])]."""
    layout: list[tuple[int, list[int]]] = []
    try:
        for value in values:
            what, _sep, ident = value.partition(":")
            if what == "state":
                layout.append((record_id(ident), []))
            elif what == "substate" and layout:
                layout[-1][1].append(record_id(ident))
            else:
                raise ValueError(value)
    except ValueError as err:
        raise ServiceError(_("The new order could not be read. Please reload the page."), 400) from err
    return layout


def apply_board(opp_type: OpportunityType, layout: list[tuple[int, list[int]]]) -> None:
    """Save the order of states and substates (and moves of substates between states) in one go.

    The layout must name every state and substate of the type exactly once: anything else means the
    page is stale (someone else changed the flow), and nothing is saved.
    """
    states = {s.id: s for s in opp_type.states}
    subs = {s.id: s for s in opp_type.substates}
    state_ids = [sid for sid, _subs in layout]
    sub_ids = [i for _sid, ids in layout for i in ids]
    if sorted(state_ids) != sorted(states) or sorted(sub_ids) != sorted(subs):
        raise ServiceError(_("The flow was changed meanwhile: the order shown now is the saved one."), 409)
    for s_pos, (state_id, ids) in enumerate(layout):
        state = states[state_id]
        state.position = s_pos
        for pos, sub_id in enumerate(ids):
            sub = subs[sub_id]
            sub.position = pos
            if sub.state_id != state_id:
                sub.state = state
    db.session.flush()
    for state in states.values():
        _reload(state, "substates")
    _reload(opp_type, "states")


def _reload(obj, attr: str) -> None:
    """Reload an ordered collection after its members' positions changed (it is ordered when loaded)."""
    db.session.expire(obj, [attr])
