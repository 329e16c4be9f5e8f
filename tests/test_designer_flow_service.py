"""services.flow: types, states and substates — create, rename, archive, delete, order (D1–D3)."""

import pytest

from extensions import db
from models import OpportunityType, State, Substate
from services import ServiceError
from services import flow as svc
from services import substates as opp_substates
from services.validation import InvalidData


def names(parent_items) -> list[str]:
    return [i.name for i in parent_items]


def positions(items) -> list[int]:
    return [i.position for i in items]


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def test_create_type_with_translations_and_refuse_duplicates(app):
    t = svc.create_type("  Photovoltaic  ", {"it": "Fotovoltaico", "es": "", "xx": "ignored"})
    db.session.commit()
    assert t.name == "Photovoltaic" and t.name_i18n == {"it": "Fotovoltaico"}
    with pytest.raises(InvalidData) as err:
        svc.create_type("photovoltaic")
    assert "already" in err.value.errors["name"]
    with pytest.raises(InvalidData) as err:
        svc.create_type("   ")
    assert err.value.errors == {"name": "Enter a name."}
    with pytest.raises(InvalidData):
        svc.create_type("x" * 121)


def test_rename_and_archive_type(app, make):
    t = make.flow((1,))
    svc.rename_type(t, "Battery storage", {"es": "Almacenamiento"})
    svc.set_type_archived(t, True)
    db.session.commit()
    t = fresh(t)
    assert (t.name, t.name_i18n, t.archived) == ("Battery storage", {"es": "Almacenamiento"}, True)


def test_delete_type_refused_while_opportunities_use_it(app, make):
    t = make.flow((2,))
    make.opportunity(t)
    with pytest.raises(ServiceError) as err:
        svc.delete_type(t)
    assert err.value.status == 409 and "1 opportunities" in err.value.message
    empty = make.flow((2, 2))
    make.action(empty.substates[0], "open_substate", config={"substate_id": empty.substates[1].id})
    svc.delete_type(empty)
    db.session.commit()
    assert db.session.get(OpportunityType, empty.id) is None
    assert db.session.query(Substate).count() == 2  # only the first type's


def test_delete_type_refused_while_assignment_criteria_refer_to_it(app, make):
    t = make.flow((1,))
    make.assignment_rule("installer", type_id=t.id)
    with pytest.raises(ServiceError, match="assignment criteria"):
        svc.delete_type(t)


def test_states_are_appended_inserted_moved_and_deleted_densely(app, make):
    t = make.flow((1, 1, 1))
    a, b, c = t.states
    d = svc.create_state(t, "D")
    e = svc.create_state(t, "E", index=0)
    db.session.commit()
    t = fresh(t)
    assert names(t.states) == ["E", "State 1", "State 2", "State 3", "D"]
    assert positions(t.states) == [0, 1, 2, 3, 4]
    svc.move_state(fresh(d), 1)
    svc.shift_state(fresh(e), +1)  # E goes right past D
    db.session.commit()
    t = fresh(t)
    assert names(t.states) == ["D", "E", "State 1", "State 2", "State 3"]
    svc.delete_state(fresh(b))
    db.session.commit()
    t = fresh(t)
    assert names(t.states) == ["D", "E", "State 1", "State 3"] and positions(t.states) == [0, 1, 2, 3]
    svc.shift_state(t.states[0], -1)  # already first: nothing changes
    assert names(fresh(t).states)[0] == "D"


def test_substates_move_within_and_between_states(app, make):
    t = make.flow((3, 2))
    s1, s2 = t.states
    a, b, c = s1.substates
    svc.move_substate(c, s1, 0)
    db.session.commit()
    assert names(fresh(s1).substates) == ["Substate 1.3", "Substate 1.1", "Substate 1.2"]
    svc.move_substate(fresh(a), fresh(s2), 1)
    db.session.commit()
    s1, s2 = fresh(s1), fresh(s2)
    assert names(s1.substates) == ["Substate 1.3", "Substate 1.2"] and positions(s1.substates) == [0, 1]
    assert names(s2.substates) == ["Substate 2.1", "Substate 1.1", "Substate 2.2"]
    assert positions(s2.substates) == [0, 1, 2]


def test_shift_substate_crosses_into_the_neighbouring_state(app, make):
    t = make.flow((2, 2))
    s1, s2 = t.states
    last_of_first = s1.substates[-1]
    svc.shift_substate(last_of_first, +1)
    db.session.commit()
    assert names(fresh(s2).substates) == ["Substate 1.2", "Substate 2.1", "Substate 2.2"]
    svc.shift_substate(fresh(last_of_first), -1)
    db.session.commit()
    assert names(fresh(s1).substates) == ["Substate 1.1", "Substate 1.2"]
    first = fresh(s1).substates[0]
    svc.shift_substate(first, -1)  # first of the first state: stays
    assert fresh(first).position == 0 and fresh(first).state_id == s1.id


def test_move_substate_to_another_type_is_refused(app, make):
    t1, t2 = make.flow((1,)), make.flow((1,))
    with pytest.raises(ServiceError):
        svc.move_substate(t1.substates[0], t2.states[0], 0)


def test_substate_names_are_unique_within_a_type(app, make):
    t = make.flow((1, 1))
    with pytest.raises(InvalidData):
        svc.create_substate(t.states[1], "substate 1.1")
    sub = svc.create_substate(t.states[1], "New one", {"it": "Nuovo"}, partner_can_act=True)
    assert sub.position == 1 and sub.partner_can_act
    svc.update_substate(sub, "Renamed", {}, partner_can_act=False)
    assert (sub.name, sub.name_i18n, sub.partner_can_act) == ("Renamed", {}, False)


def test_delete_substate_refused_while_opportunities_went_through_it(app, make):
    t = make.flow((2,))
    opp = make.opportunity(t)
    opp_substates.open_substate(opp, t.substates[0].id, None)
    opp_substates.close_substate(opp, t.substates[0].id, None)
    db.session.commit()
    with pytest.raises(ServiceError) as err:
        svc.delete_substate(t.substates[0])
    assert "Archive it instead" in err.value.message
    svc.set_substate_archived(t.substates[0], True)
    assert t.substates[0].archived
    with pytest.raises(ServiceError):
        svc.delete_state(t.states[0])


def test_delete_substate_refused_while_another_substates_action_refers_to_it(app, make):
    t = make.flow((3,))
    a, b, c = t.substates
    make.action(a, "open_substate", "on_close", {"substate_id": c.id})
    with pytest.raises(ServiceError, match="Substate 1.1"):
        svc.delete_substate(c)
    # Its own actions, and the state deleted as a whole, are no obstacle.
    make.action(b, "close_substate", "on_open", {"substate_id": b.id})
    svc.delete_substate(b)
    db.session.commit()
    assert names(fresh(t.states[0]).substates) == ["Substate 1.1", "Substate 1.3"]
    assert positions(fresh(t.states[0]).substates) == [0, 1]
    state_id = t.states[0].id
    svc.delete_state(fresh(t.states[0]))
    db.session.commit()
    assert db.session.get(State, state_id) is None


def test_board_layout_moves_states_and_substates_in_one_go(app, make):
    t = make.flow((2, 1))
    s1, s2 = t.states
    a, b = s1.substates
    (c,) = s2.substates
    layout = svc.parse_board([f"state:{s2.id}", f"substate:{b.id}", f"substate:{c.id}",
                              f"state:{s1.id}", f"substate:{a.id}"])
    svc.apply_board(t, layout)
    db.session.commit()
    t = fresh(t)
    assert names(t.states) == ["State 2", "State 1"]
    assert names(t.states[0].substates) == ["Substate 1.2", "Substate 2.1"]
    assert names(t.states[1].substates) == ["Substate 1.1"]


@pytest.mark.parametrize("values", [
    ["substate:1"], ["state:x"], ["nonsense:1"],
])
def test_unreadable_board_is_a_400(app, values):
    with pytest.raises(ServiceError) as err:
        svc.parse_board(values)
    assert err.value.status == 400


def test_stale_board_is_refused_and_nothing_changes(app, make):
    t = make.flow((2, 1))
    s1, s2 = t.states
    other = make.flow((1,))
    for layout in (
        [(s1.id, [s.id for s in s1.substates])],  # a state missing
        [(s1.id, [s1.substates[0].id]), (s2.id, [s2.substates[0].id])],  # a substate missing
        [(s1.id, [s.id for s in s1.substates] + [other.substates[0].id]), (s2.id, [s2.substates[0].id])],
        [(s1.id, [s.id for s in s1.substates] * 2), (s2.id, [s2.substates[0].id])],  # twice
    ):
        with pytest.raises(ServiceError) as err:
            svc.apply_board(t, layout)
        assert err.value.status == 409
    db.session.rollback()
    assert names(fresh(t).states) == ["State 1", "State 2"]
