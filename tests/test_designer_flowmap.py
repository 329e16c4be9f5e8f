"""services.flowmap (D10): edges from open/close-substate actions, loops automation could run into, layout."""

import pytest

from extensions import db
from models import Action
from services.flowmap import Edge, build_map, find_loops, loops_of_type, type_edges


def edge(n, source, target, effect="open", group="on_open", enabled=True, channels=()) -> Edge:
    return Edge(n, source, target, effect, group, group, enabled, frozenset(channels))


@pytest.mark.parametrize("edges, looping", [
    # Closes itself 2 days after opening, reopens itself on close: repeats every 2 days.
    ([edge(1, "A", "A", "close", "scheduled"), edge(2, "A", "A", "open", "on_close")], [{"A"}]),
    # A opens → closes A → on close opens B → B opens → closes B → on close opens A → …
    ([edge(1, "A", "A", "close", "on_open"), edge(2, "A", "B", "open", "on_close"),
      edge(3, "B", "B", "close", "on_open"), edge(4, "B", "A", "open", "on_close")], [{"A", "B"}]),
    # Closing A opens B and closing B opens A: someone has to close B first, no loop by itself.
    ([edge(1, "A", "B", "open", "on_close"), edge(2, "B", "A", "open", "on_close")], []),
    # Closing A opens B, whose opening closes A again: A is already closed, nothing repeats.
    ([edge(1, "A", "B", "open", "on_close"), edge(2, "B", "A", "close", "on_open")], []),
    # Opening itself when it opens does nothing.
    ([edge(1, "A", "A", "open", "on_open")], []),
    # The first loop with one of its actions disabled.
    ([edge(1, "A", "A", "close", "scheduled"), edge(2, "A", "A", "open", "on_close", enabled=False)], []),
    # A straight chain.
    ([edge(1, "A", "B", "open", "on_close"), edge(2, "B", "C", "open", "on_close")], []),
])
def test_find_loops(edges, looping):
    loops = find_loops(edges)
    assert [loop.substate_ids for loop in loops] == looping
    flagged = {e.action_id for e in edges if e.looping}
    assert flagged == set().union(*(loop.action_ids for loop in loops)) if loops else not flagged


@pytest.mark.parametrize("channels, looping", [
    # Both actions run for the web channel: web opportunities loop.
    (({"web"}, {"web", "shop"}), [{"A"}]),
    # One runs for web only, the other for the shop only: no opportunity has both channels.
    (({"web"}, {"shop"}), []),
    # A filter on one action and none on the other: the filtered channel loops.
    (({"web"}, ()), [{"A"}]),
])
def test_loops_need_actions_that_run_for_one_same_channel(channels, looping):
    edges = [edge(1, "A", "A", "close", "scheduled", channels=channels[0]),
             edge(2, "A", "A", "open", "on_close", channels=channels[1])]
    assert [loop.substate_ids for loop in find_loops(edges)] == looping
    assert all(e.looping == bool(looping) for e in edges)


def test_a_loop_on_two_channels_is_reported_once_with_all_its_actions():
    edges = [edge(1, "A", "A", "close", "scheduled", channels={"web"}),
             edge(2, "A", "A", "close", "scheduled", channels={"shop"}),
             edge(3, "A", "A", "open", "on_close")]
    (loop,) = find_loops(edges)
    assert loop.action_ids == {1, 2, 3}


def test_loops_only_flag_the_edges_inside_them():
    edges = [edge(1, "A", "A", "close", "scheduled"), edge(2, "A", "A", "open", "on_close"),
             edge(3, "A", "B", "open", "on_close"), edge(4, "X", "A", "open", "on_close")]
    (loop,) = find_loops(edges)
    assert loop.action_ids == {1, 2}
    assert [e.looping for e in edges] == [True, True, False, False]


def test_a_long_chain_does_not_hit_the_recursion_limit():
    chain = [edge(i, i, i + 1, "open", "on_open") for i in range(5000)]
    assert find_loops(chain) == []
    ring = chain + [edge(9999, 5000, 0, "close", "on_open"), edge(10000, 0, 0, "open", "on_close")]
    (loop,) = find_loops(ring)
    assert len(loop.substate_ids) == 5001


def test_type_edges_and_map_from_saved_actions(app, make):
    t = make.flow((2, 1))
    a, b, c = t.substates
    make.action(a, "open_substate", "on_close", {"substate_id": b.id})
    make.action(b, "close_substate", "scheduled", {"substate_id": b.id}, delay_amount=4, delay_unit="days")
    make.action(b, "open_substate", "on_close", {"substate_id": b.id})
    make.action(c, "open_substate", "on_open", {"substate_id": a.id}, enabled=False)
    make.action(c, "send_email", "on_open", {})  # not an edge
    with app.test_request_context():
        edges = type_edges(t.id)
        assert sorted((e.source, e.target, e.effect, e.label) for e in edges) == sorted([
            (a.id, b.id, "open", "on close"), (b.id, b.id, "close", "after 4 days"),
            (b.id, b.id, "open", "on close"), (c.id, a.id, "open", "on open")])
        assert [loop.substate_ids for loop in loops_of_type(t.id)] == [{b.id}]
        fmap = build_map(t)
    web, shop = make.channel("Web"), make.channel("Negozio")
    loop_close, loop_open = [e.action_id for e in edges if e.source == e.target == b.id]
    for action_id, channel in ((loop_close, web), (loop_open, shop)):
        db.session.get(Action, action_id).channels = [channel]
    db.session.commit()
    with app.test_request_context():
        assert loops_of_type(t.id) == []  # web opportunities close it, only the shop's would reopen it
    assert [col.state.id for col in fmap.columns] == [s.id for s in t.states]
    assert {n.substate.id: n.looping for n in fmap.nodes} == {a.id: False, b.id: True, c.id: False}
    assert all(e.path.startswith("M") for e in fmap.edges) and len(fmap.edges) == 4
    xs = {n.substate.id: n.x for n in fmap.nodes}
    assert xs[a.id] == xs[b.id] < xs[c.id]
    assert fmap.width > xs[c.id] and fmap.height > max(n.y for n in fmap.nodes)


def test_fields_start_the_edges_of_field_triggers_and_process_automations(app, make, client):
    """T1/T2 on the map: a Fields column left of the states, an edge from the field to the substate a
    field trigger opens and one to the substate an automation ticks; no loop comes of them."""
    from models import ProcessAutomation, Trigger

    flow = make.flow((2, 1))
    s1, s2, s3 = flow.substates
    add = db.session.add
    add(Trigger(substate_id=s2.id, kind="field", name="Source → S2", config={"field": "system:acquisition_source",
                                                                              "when": "filled"}))
    add(ProcessAutomation(name="Ticks S1", system_field="acquisition_source", type_id=flow.id, substate_id=s1.id,
                          active=True))
    add(ProcessAutomation(name="Ticks S3", system_field="contact_person", type_id=flow.id, substate_id=s3.id))
    # S1's close opens S2, whose opening closes S1: nothing repeats (S1 is closed already).
    add(Action(substate_id=s1.id, group="on_close", kind="open_substate", config={"substate_id": s2.id}))
    db.session.commit()
    fmap = build_map(flow)
    assert [f.ref for f in fmap.fields] == ["field:system:acquisition_source", "field:system:contact_person"]
    drawn = {(e.source, e.target, e.effect) for e in fmap.edges if e.path}
    assert ("field:system:acquisition_source", s2.id, "open") in drawn
    assert ("field:system:acquisition_source", s1.id, "close") in drawn
    assert ("field:system:contact_person", s3.id, "close") in drawn
    assert min(n.x for n in fmap.nodes) > max(f.x for f in fmap.fields)  # states start right of the fields
    assert loops_of_type(flow.id) == [] and not fmap.outside
    client.login(make.user("admin"))
    page = client.get(f"/settings/types/{flow.id}/map").get_data(as_text=True)
    assert page.count('class="fm-field"') == 2 and 'data-automation="' in page
