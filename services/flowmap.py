"""The flow map (D10): edges that open/close-substate actions, triggers (T1) and process automations (T2) form
between substates — and from fields, which field triggers and automations start from — the loops they could
run into, and the geometry of a server-rendered SVG (fields, then states as columns; substates as nodes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from engine.kinds import KINDS
from extensions import db
from models import Action, OpportunityType, State, Substate
from models.flow import action_channel
from services.actions import delay_text


@dataclass
class Edge:
    action_id: int | None  # None for a trigger's or an automation's edge
    source: int | str  # a substate's id, or "field:<ref>" / "external:<source>" for an edge from the left column
    target: int
    effect: str  # open | close
    group: str  # on_open | on_close | scheduled | trigger
    label: str
    enabled: bool
    channels: frozenset[int] = frozenset()  # the action's channel filter; empty: every channel
    looping: bool = False
    path: str = ""
    label_x: float = 0
    label_y: float = 0
    anchor: str = "middle"
    trigger_id: int | None = None  # a trigger's edge: from where its tasks are created to its substate
    automation_id: int | None = None  # a process automation's edge: from its field to the substate it ticks


@dataclass
class Loop:
    """Substates whose actions, once started, could keep opening and closing each other by themselves."""

    substate_ids: set[int]
    action_ids: set[int] = field(default_factory=set)
    trigger_ids: set[int] = field(default_factory=set)


def type_edges(type_id: int) -> list[Edge]:
    """One edge per open/close-substate action of the type, labelled on open / on close / after N."""
    edge_kinds = {key: kind.effect for key, kind in KINDS.items() if kind.effect}
    rows = db.session.execute(
        select(Action.id, Action.substate_id, Action.kind, Action.group, Action.config, Action.delay_amount,
               Action.delay_unit, Action.enabled)
        .join(Substate, Action.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .where(State.type_id == type_id, Action.kind.in_(list(edge_kinds)))
        .order_by(Action.substate_id, Action.position)
    ).all()
    labels = {"on_open": _("on open"), "on_close": _("on close")}
    channels: dict[int, set[int]] = {}
    ids = [row.id for row in rows]
    for action_id, channel_id in db.session.execute(
            select(action_channel.c.action_id, action_channel.c.channel_id)
            .where(action_channel.c.action_id.in_(ids))).all() if ids else ():
        channels.setdefault(action_id, set()).add(channel_id)
    edges = []
    for row in rows:
        target = (row.config or {}).get("substate_id")
        if not target:
            continue
        label = delay_text(row.delay_amount, row.delay_unit) if row.group == "scheduled" else labels[row.group]
        edges.append(Edge(row.id, row.substate_id, target, edge_kinds[row.kind], row.group, label, row.enabled,
                          frozenset(channels.get(row.id, ()))))
    return edges


def find_loops(edges: list[Edge]) -> list[Loop]:
    """Loops automation alone could run into.

    Events are (substate, opened) and (substate, closed). An enabled action of A on open or scheduled
    leads from (A, opened), on close from (A, closed), to (B, opened) or (B, closed). Opening what is
    already open does nothing, so a cycle of events only repeats when it opens *and* closes some
    substate: a strongly connected group of events holding both events of one substate is reported.

    An opportunity has one channel, so only actions that all run for one same channel can loop together:
    the search runs once per channel some filter names, and once for the channels none names.
    """
    named = sorted({c for e in edges for c in e.channels})
    found: dict[frozenset, Loop] = {}
    for channel in [None, *named]:
        applies = [e for e in edges if e.enabled and (not e.channels or channel in e.channels)]
        for loop in _loops_among(applies):
            known = found.setdefault(frozenset(loop.substate_ids), Loop(loop.substate_ids))
            known.action_ids |= loop.action_ids
            known.trigger_ids |= loop.trigger_ids
    for e in edges:
        e.looping = any(e.trigger_id in loop.trigger_ids if e.trigger_id is not None else
                        e.action_id in loop.action_ids for loop in found.values())
    return list(found.values())


def _event_edge(e: Edge) -> tuple[tuple, tuple]:
    """A trigger's edge leads from (X, opened) — a task created there — to (S, opened)."""
    start = (e.source, "closed" if e.group == "on_close" else "opened")
    return start, (e.target, "opened" if e.effect == "open" else "closed")


def _loops_among(edges: list[Edge]) -> list[Loop]:
    """The loops the given (enabled, same-channel) actions form."""
    graph: dict[tuple, list[tuple]] = {}
    for e in edges:
        start, end = _event_edge(e)
        graph.setdefault(start, []).append(end)
        graph.setdefault(end, [])
    loops = []
    for component in _strong_components(graph):
        events = set(component)
        subs = {sid for sid, _event in events}
        if not any((sid, "opened") in events and (sid, "closed") in events for sid in subs):
            continue
        inside = [e for e in edges if all(point in events for point in _event_edge(e))]
        loops.append(Loop(subs, {e.action_id for e in inside if e.trigger_id is None},
                          {e.trigger_id for e in inside if e.trigger_id is not None}))
    return loops


def _strong_components(graph: dict) -> list[list]:
    """Tarjan's algorithm, iterative (a long chain of actions must not hit the recursion limit)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
    return result


def trigger_edges(type_id: int) -> list[Edge]:
    """One edge per trigger of the type and substate its type draws it from (engine.trigger_types): a
    task-status trigger from the substate its tasks must be created in, or from every substate with a
    create-task action. A trigger opens its substate: its edge counts for loops as an opening does."""
    from engine.trigger_types import get_trigger_type
    from services.triggers import of_type

    task_makers = set(db.session.execute(
        select(Action.substate_id).join(Substate, Action.substate_id == Substate.id)
        .join(State, Substate.state_id == State.id)
        .where(State.type_id == type_id, Action.kind == "create_task", Action.enabled.is_(True))
    ).scalars())
    edges = []
    for trigger in of_type(type_id):
        trigger_type = get_trigger_type(trigger.kind)
        if trigger_type is None:
            continue
        config = trigger.config or {}
        for source in trigger_type.map_sources(config, task_makers):
            edges.append(Edge(None, source, trigger.substate_id, "open", "trigger", trigger_type.edge_label(config),
                              trigger.enabled, trigger_id=trigger.id))
    return edges


def automation_edges(type_id: int) -> list[Edge]:
    """One edge per process automation of the type: from its field to the substate filling it ticks."""
    from models import ProcessAutomation
    from services import field_values as fv

    edges = []
    for automation in db.session.execute(
            select(ProcessAutomation).join(Substate, ProcessAutomation.substate_id == Substate.id)
            .join(State, Substate.state_id == State.id).where(State.type_id == type_id)
            .order_by(ProcessAutomation.id)).scalars():
        if automation.field_ref and fv.resolve(automation.field_ref) is not None:
            edges.append(Edge(None, f"field:{automation.field_ref}", automation.substate_id, "close", "automation",
                              _("filled"), automation.active, automation_id=automation.id))
    return edges


@dataclass
class OutsideEdge:
    """A trigger set off from outside the flow with no node to draw it from (a task-status trigger when no
    action creates tasks: a person's task sets it off). Listed under the map; no part of a loop."""

    target: int
    effect: str  # open | close
    label: str
    enabled: bool
    trigger_id: int | None = None


def outside_edges(type_id: int) -> list[OutsideEdge]:
    """The type's triggers that draw no edge."""
    from engine.trigger_types import get_trigger_type
    from services.triggers import of_type

    task_makers = set(db.session.execute(
        select(Action.substate_id).join(Substate, Action.substate_id == Substate.id)
        .join(State, Substate.state_id == State.id)
        .where(State.type_id == type_id, Action.kind == "create_task", Action.enabled.is_(True))
    ).scalars())
    out = []
    for trigger in of_type(type_id):
        trigger_type = get_trigger_type(trigger.kind)
        if trigger_type is not None and not trigger_type.map_sources(trigger.config or {}, task_makers):
            out.append(OutsideEdge(trigger.substate_id, "open", f"{trigger_type.label}: {trigger.name}",
                                   trigger.enabled, trigger.id))
    return out


def all_edges(type_id: int) -> list[Edge]:
    """The edges of the type's actions, triggers and process automations (the loop check sees them all)."""
    return type_edges(type_id) + trigger_edges(type_id) + automation_edges(type_id)


def loops_of_type(type_id: int) -> list[Loop]:
    """The type's loops (for the designer board and the panel's warning)."""
    return find_loops(all_edges(type_id))


# -- geometry -----------------------------------------------------------------------------------------

NODE_W, NODE_H, GAP_X, GAP_Y, PAD, HEAD = 180, 46, 130, 34, 20, 40


@dataclass
class Node:
    substate: Substate
    x: int
    y: int
    looping: bool
    short: str


@dataclass
class FieldNode:
    """A field that field triggers or process automations start from, or an external source that
    external-event triggers listen to ("external:<name>"), drawn left of the states."""

    ref: str
    label: str
    x: int
    y: int
    short: str

    @property
    def external(self) -> bool:
        return self.ref.startswith("external:")


@dataclass
class Column:
    state: State
    x: int


@dataclass
class FlowMap:
    columns: list[Column]
    nodes: list[Node]
    edges: list[Edge]
    loops: list[Loop]
    width: int
    height: int
    node_w: int = NODE_W
    node_h: int = NODE_H
    outside: list[OutsideEdge] = field(default_factory=list)
    fields: list[FieldNode] = field(default_factory=list)


def _short(name: str) -> str:
    return name if len(name) <= 24 else name[:23] + "…"


def build_map(opp_type: OpportunityType) -> FlowMap:
    """Place states as columns and substates as nodes, and draw every edge as a labelled curve."""
    edges = all_edges(opp_type.id)
    loops = find_loops(edges)
    looping = set().union(*(loop.substate_ids for loop in loops)) if loops else set()
    columns, nodes, where, fields = [], [], {}, []
    from services import field_values as fv

    field_refs = list(dict.fromkeys(e.source for e in edges if isinstance(e.source, str)))
    for row, source in enumerate(field_refs):  # the left column, when any edge starts from a field or source
        if source.startswith("external:"):
            label = source.removeprefix("external:")
        else:
            resolved = fv.resolve(source.removeprefix("field:"))
            label = resolved.label if resolved else source
        fields.append(FieldNode(source, label, PAD, PAD + HEAD + row * (NODE_H + GAP_Y), _short(label)))
        where[source] = (PAD, fields[-1].y)
    offset = (NODE_W + GAP_X) if fields else 0
    for col, state in enumerate(opp_type.states):
        x = PAD + offset + col * (NODE_W + GAP_X)
        columns.append(Column(state, x))
        for row, sub in enumerate(state.substates):
            y = PAD + HEAD + row * (NODE_H + GAP_Y)
            nodes.append(Node(sub, x, y, sub.id in looping, _short(sub.label)))
            where[sub.id] = (x, y)
    seen: dict[tuple, int] = {}
    for e in edges:
        if e.source in where and e.target in where:
            nth = seen.get((e.source, e.target), 0)
            seen[(e.source, e.target)] = nth + 1
            _route(e, where[e.source], where[e.target], nth)
    rows = max([len(s.substates) for s in opp_type.states] + [len(fields)])
    width = PAD * 2 + offset + max(1, len(columns)) * (NODE_W + GAP_X)
    height = PAD * 2 + HEAD + max(1, rows) * (NODE_H + GAP_Y) + 40
    return FlowMap(columns, nodes, [e for e in edges if e.path], loops, width, height,
                   outside=outside_edges(opp_type.id), fields=fields)


def _route(e: Edge, src: tuple[int, int], dst: tuple[int, int], nth: int) -> None:
    """A cubic curve from one node to another; parallel edges fan out by `nth`, labels kept apart."""
    (sx, sy), (tx, ty) = src, dst
    mid_s, mid_t = sy + NODE_H / 2, ty + NODE_H / 2
    if e.source == e.target:  # a loop on the node's right, its label beside the loop
        bend = 44 + 30 * nth
        x0 = sx + NODE_W
        pts = ((x0, sy + 10), (x0 + bend, sy - 16 - 8 * nth), (x0 + bend, sy + NODE_H + 16 + 8 * nth),
               (x0, sy + NODE_H - 10))
        _set(e, pts, x0 + 0.75 * bend + 4, sy + 14 + 14 * nth, "start")
        return
    if sx == tx:  # same column: downwards on the right, upwards on the left, label at the apex
        bend = 36 + 18 * nth
        right = ty > sy
        x0 = sx + NODE_W if right else sx
        out = bend if right else -bend
        pts = ((x0, mid_s), (x0 + out, mid_s), (x0 + out, mid_t), (x0, mid_t))
        _set(e, pts, x0 + 0.75 * out + (4 if right else -4), (mid_s + mid_t) / 2 + 4, "start" if right else "end")
        return
    bend = 50 + 22 * nth
    if tx > sx:
        x0, x1 = sx + NODE_W, tx
        pts = ((x0, mid_s), (x0 + bend, mid_s + 8 * nth), (x1 - bend, mid_t + 8 * nth), (x1, mid_t))
    else:  # backwards: leave from the left, enter from the right, arching over the nodes
        x0, x1 = sx, tx + NODE_W
        pts = ((x0, mid_s), (x0 - bend, mid_s - 30 - 10 * nth), (x1 + bend, mid_t - 30 - 10 * nth), (x1, mid_t))
    # The label sits three quarters along, near the target: arcs within a column keep the source side.
    (p0x, p0y), (c1x, c1y), (c2x, c2y), (p1x, p1y) = pts
    _set(e, pts, (p0x + 9 * c1x + 27 * c2x + 27 * p1x) / 64, (p0y + 9 * c1y + 27 * c2y + 27 * p1y) / 64 - 5,
         "middle")


def _set(e: Edge, pts, label_x: float, label_y: float, anchor: str) -> None:
    (x0, y0), (c1x, c1y), (c2x, c2y), (x1, y1) = pts
    e.path = f"M{x0:.0f},{y0:.0f} C{c1x:.0f},{c1y:.0f} {c2x:.0f},{c2y:.0f} {x1:.0f},{y1:.0f}"
    e.label_x, e.label_y, e.anchor = label_x, label_y, anchor
