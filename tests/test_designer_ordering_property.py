"""Property: after any sequence of inserts, deletes, moves, shifts and board drags, the positions of states
in their type and of substates in their state are dense (0..n-1) and in the order a plain list model says."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from extensions import db
from models import OpportunityType, State, Substate
from services import flow as svc

OPS = ["add_state", "add_substate", "del_state", "del_substate", "move_state", "shift_state",
       "move_substate", "shift_substate", "board"]
_names = itertools.count(1)

operations = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50), st.integers(-1, 50),
              st.randoms(use_true_random=False)),
    max_size=20,
)


class Model:
    """The expected flow: a list of [state name, [substate names]]."""

    def __init__(self, t: OpportunityType):
        self.states = [[s.name, [x.name for x in s.substates]] for s in t.states]

    def subs(self) -> list[tuple[int, int]]:
        return [(i, j) for i, (_n, subs) in enumerate(self.states) for j in range(len(subs))]


def state_named(t_id: int, name: str) -> State:
    return db.session.execute(select(State).where(State.type_id == t_id, State.name == name)).scalar_one()


def substate_named(t_id: int, name: str) -> Substate:
    return db.session.execute(
        select(Substate).join(State).where(State.type_id == t_id, Substate.name == name)
    ).scalar_one()


def apply(op, a, b, c, rnd, t: OpportunityType, m: Model) -> None:
    """Do `op` through the service and on the model alike (indices taken modulo the sizes)."""
    n = len(m.states)
    if op == "add_state":
        name, index = f"S{next(_names)}", (None if c < 0 else c)
        svc.create_state(t, name, index=index)
        m.states.insert(len(m.states) if index is None else min(index, n), [name, []])
    elif op == "add_substate" and n:
        i, name, index = a % n, f"u{next(_names)}", (None if c < 0 else c)
        svc.create_substate(state_named(t.id, m.states[i][0]), name, index=index)
        subs = m.states[i][1]
        subs.insert(len(subs) if index is None else min(index, len(subs)), name)
    elif op == "del_state" and n:
        i = a % n
        svc.delete_state(state_named(t.id, m.states[i][0]))
        del m.states[i]
    elif op == "del_substate" and m.subs():
        i, j = m.subs()[a % len(m.subs())]
        svc.delete_substate(substate_named(t.id, m.states[i][1][j]))
        del m.states[i][1][j]
    elif op == "move_state" and n:
        i, index = a % n, b % n
        svc.move_state(state_named(t.id, m.states[i][0]), index)
        m.states.insert(index, m.states.pop(i))
    elif op == "shift_state" and n:
        i, delta = a % n, (1 if b % 2 else -1)
        svc.shift_state(state_named(t.id, m.states[i][0]), delta)
        m.states.insert(max(0, min(n - 1, i + delta)), m.states.pop(i))
    elif op == "move_substate" and m.subs():
        i, j = m.subs()[a % len(m.subs())]
        k = b % n
        name = m.states[i][1].pop(j)
        index = min(c, len(m.states[k][1])) if c >= 0 else len(m.states[k][1])
        svc.move_substate(substate_named(t.id, name), state_named(t.id, m.states[k][0]), None if c < 0 else c)
        m.states[k][1].insert(index, name)
    elif op == "shift_substate" and m.subs():
        i, j = m.subs()[a % len(m.subs())]
        delta = 1 if b % 2 else -1
        name = m.states[i][1][j]
        svc.shift_substate(substate_named(t.id, name), delta)
        subs = m.states[i][1]
        if 0 <= j + delta < len(subs):
            subs.insert(j + delta, subs.pop(j))
        elif 0 <= i + delta < n:
            subs.pop(j)
            m.states[i + delta][1].insert(0 if delta > 0 else len(m.states[i + delta][1]), name)
    elif op == "board" and n:
        # A drag: states in a shuffled order, every substate dealt to some state in a shuffled order.
        order = m.states[:]
        rnd.shuffle(order)
        every = [s for _n, subs in m.states for s in subs]
        rnd.shuffle(every)
        dealt = {name: [] for name, _subs in order}
        for s in every:
            dealt[order[rnd.randrange(len(order))][0]].append(s)
        m.states = [[name, dealt[name]] for name, _subs in order]
        layout = [(state_named(t.id, name).id, [substate_named(t.id, s).id for s in subs]) for name, subs in m.states]
        svc.apply_board(t, layout)


def check(t_id: int, m: Model) -> None:
    states = db.session.execute(select(State).where(State.type_id == t_id).order_by(State.position)).scalars().all()
    assert [s.position for s in states] == list(range(len(states)))
    assert [s.name for s in states] == [name for name, _subs in m.states]
    for state, (_name, expected) in zip(states, m.states, strict=True):
        subs = db.session.execute(
            select(Substate).where(Substate.state_id == state.id).order_by(Substate.position)
        ).scalars().all()
        assert [s.position for s in subs] == list(range(len(subs)))
        assert [s.name for s in subs] == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=4), ops=operations)
def test_positions_stay_dense_and_ordered(app, make, shape, ops):
    t = make.flow(tuple(shape))
    for s_index, state in enumerate(t.states):  # names unique in the type, as the service requires
        for sub in state.substates:
            sub.name = f"u{next(_names)}-{s_index}"
    db.session.commit()
    m = Model(t)
    for op, a, b, c, rnd in ops:
        apply(op, a, b, c, rnd, t, m)
        db.session.commit()
        db.session.expire_all()
        check(t.id, m)
