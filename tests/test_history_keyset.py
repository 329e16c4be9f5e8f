"""The history's fast newest-first pages (services.history.keyset) list exactly the rows of the plain query —
one query per kind merged over windows of runs, the detail's run id as key, names resolved to ids, a partner's rule narrowed —
page after page, for internal and partner users; and the select options are exactly the distinct values
of the rows the user may see."""

import random

import pytest
from werkzeug.datastructures import MultiDict

from extensions import db
from services.history import TABS, keyset, registry
from tests import history_support as hs

FILTERS = {
    "email": ["", "status=sent", "status=not_sent", "status=failed", "template=T1", "template=Nope",
              "credentials=S2", "opportunity=deal 1", "opportunity=zzz", "recipient=c3"],
    "activities": ["", "status=completed", "status=not_completed", "type=Call", "type=Visit", "opportunity=deal"],
    "substates": ["", "change=close_substate", "status=cancelled"],
    "assignment": ["", "status=accepted", "status=not_accepted", "company=Inst A", "company=Inst B",
                   "company=Comm A", "company=Nobody", "status=pending"],
    "reports": ["", "template=R1", "status=sent", "status=not_sent"],
    "exports": ["", "type=xlsx", "status=sent"],
    "signatures": ["", "status=signed", "action=external_source"],
    "tasks": ["", "action=completed", "action=created", "status=todo", "status=completed", "status=failed",
              "responsible=U1", "task=T1", "opportunity=deal 1"],
    "notifications": ["", "status=read", "status=sent", "status=skipped", "recipient=U2", "message=M1",
                      "opportunity=deal 2"],
    "history_entries": ["", "author=U1", "responsible=U0", "text=H2", "status=succeeded", "opportunity=deal"],
    "triggers": ["", "trigger=Tr1", "status=skipped", "task=T2", "substate=1.2"],
    "process_automations": ["", "direction=linked_tasks", "direction=field_closes", "field=system:contact_person",
                            "automation=A1", "value=V2", "reason=not_open", "status=succeeded", "opportunity=deal 1",
                            "substate=1.2"],
}


@pytest.fixture
def world(make):
    rnd = random.Random(3)
    flow = make.flow((2,))
    companies = [make.company("installer", name="Inst A"), make.company("installer", name="Inst B"),
                 make.company("commercial", name="Comm A")]
    types = [make.activity_type("Call"), make.activity_type("Visit")]
    opps = [make.opportunity(flow, name=f"Deal {i}", installer=companies[i % 2],
                             commercial=companies[2] if i % 3 == 0 else None) for i in range(6)]
    db.session.flush()
    for i in range(90):
        opp = rnd.choice(opps)
        what = i % 8
        if what == 0:
            ok = rnd.random() < 0.6
            hs.email(opp, f"T{rnd.randrange(3)}", f"c{rnd.randrange(5)}@example.net", "sent" if ok else "failed",
                     "succeeded" if ok else "failed", credentials=f"S{rnd.randrange(3)}")
        elif what == 1:
            hs.run(opp, "send_email", rnd.choice(["scheduled", "failed", "cancelled"]))
        elif what == 2:
            hs.activity(opp, rnd.choice(types), completed=rnd.random() < 0.5)
        elif what == 3:
            hs.substate(opp, flow.substates[rnd.randrange(2)], rnd.choice(["open_substate", "close_substate"]),
                        rnd.choice(["succeeded", "cancelled"]))
        elif what == 4:
            hs.assignment(opp, rnd.choice(companies), rnd.choice(["pending", "accepted", "rejected"]))
        elif what == 5:
            hs.run(opp, rnd.choice(["assign_installer", "assign_commercial"]), "scheduled")
        elif what == 6:
            hs.report(opp, f"R{rnd.randrange(2)}", "r@example.net") if rnd.random() < 0.7 else \
                hs.export(opp, "E", "e@example.net", rnd.choice(["csv", "xlsx"]))
        else:
            _run, request = hs.signature(opp, "Contract.pdf", "s@example.net")
            hs.callback(opp, request, rnd.choice(["signed", "declined"]))
    partners = [make.user("partner", company=companies[0]), make.user("partner", company=companies[2])]
    _monitoring(rnd, opps, flow, [make.user("manager", name=f"U{i}") for i in range(3)] + partners)
    db.session.commit()
    return [make.user("manager"), *partners]


def _monitoring(rnd, opps, flow, people):
    """Runs of the monitoring kinds (issue 11), several detail rows per run for some."""
    for opp in opps:
        opp.owner_id = rnd.choice(people[:3]).id
    triggers = [hs.trigger(flow.substates[i % 2], f"Tr{i}") for i in range(3)]
    tasks = []
    for i in range(60):
        opp, what = rnd.choice(opps), i % 5
        if what == 0:
            _run, task = hs.task_created(opp, f"T{rnd.randrange(3)}", rnd.choice(people), None,
                                         rnd.choice(["todo", "in_progress", "deferred"]),
                                         rnd.choice(["succeeded"] * 3 + ["failed", "scheduled"]))
            tasks += [task] if task else []
        elif what == 1:
            own = [t for t in tasks if t.opportunity_id == opp.id and t.status != "completed"]
            hs.tasks_completed(opp, own[:2], rnd.choice(["succeeded", "succeeded", "skipped"]))
        elif what == 2:
            status = rnd.choice(["succeeded"] * 3 + ["skipped"])
            hs.notified(opp, rnd.sample(people, rnd.randrange(1, 4)), f"M{rnd.randrange(3)}", status,
                        read=people[1:3], reason="no_supervisor" if status == "skipped" else None)
        elif what == 3:
            hs.history_entry(opp, f"H{rnd.randrange(3)}", rnd.choice(people[:3]),
                             rnd.choice(["succeeded", "succeeded", "scheduled"]))
        elif tasks:
            status = rnd.choice(["succeeded", "skipped", "failed"])
            hs.trigger_fired(opp, rnd.choice(triggers), rnd.choice(tasks), status,
                             reason={"skipped": "already_open", "failed": "chain_depth"}.get(status))
    for _i in range(40):  # process automations both ways and linked tasks (T2, T3)
        opp, sub = rnd.choice(opps), flow.substates[rnd.randrange(2)]
        if rnd.random() < 0.7:
            status = rnd.choice(["succeeded", "succeeded", "skipped"])
            hs.automation_run(opp, sub, f"A{rnd.randrange(3)}", rnd.choice(["system:company_name", "system:contact_person"]),
                              f"V{rnd.randrange(3)}", rnd.choice(["field_closes", "close_requires_field"]), status,
                              reason="not_open" if status == "skipped" else None)
        else:
            hs.linked_tasks_run(opp, sub, run_status=rnd.choice(["succeeded", "skipped"]))


def _plain(tab, user, args) -> list[tuple]:
    stmt = registry.apply_filters(tab, registry.base_query(tab, user), args)
    rows = db.session.execute(stmt.order_by(*[k.desc() for k in registry._order_keys(tab)])).all()
    return [tuple(registry._row_keys(tab, row)) for row in rows]


def _paged(tab, user, args) -> list[tuple]:
    seen, args = [], MultiDict(args)
    while True:
        result = registry.page(tab, user, args)
        seen += [tuple(registry._row_keys(tab, row)) for row in result.rows]
        if not result.next_before:
            return seen
        args["before"] = result.next_before


@pytest.mark.parametrize("tab", list(FILTERS))
def test_fast_pages_list_the_plain_query_rows(world, monkeypatch, tab):
    monkeypatch.setattr(registry, "PAGE_SIZE", 4)
    monkeypatch.setattr(keyset, "WINDOW", 3)  # several windows per page, as at a million runs
    monkeypatch.setattr(keyset, "GROWTH", 2)
    spec = TABS[tab]
    for user in world:
        for query in FILTERS[tab]:
            args = MultiDict([query.split("=")]) if query else MultiDict()
            assert _paged(spec, user, args) == _plain(spec, user, args), (tab, user.company_id, query)


@pytest.mark.parametrize("tab", list(FILTERS))
def test_options_are_the_distinct_visible_values(world, tab):
    spec = TABS[tab]
    for user in world:
        got = registry.options(spec, user)
        for col in spec.columns:
            if col.filter != "select" or col.options is not None:
                continue
            stmt = registry.base_query(spec, user).with_only_columns(col.expr).where(col.expr.is_not(None))
            expected = sorted({str(v) for v in db.session.execute(stmt).scalars()})
            assert [value for value, _label in got[col.key]] == expected, (tab, col.key, user.company_id)


TEXT_SEARCHES = [("email", "recipient=c3"), ("email", "recipient=nobody"), ("reports", "recipient=r@"),
                 ("signatures", "signer=s@"), ("signatures", "signer=nobody"), ("activities", "opportunity=deal 1"),
                 ("substates", "substate=1.2"), ("substates", "substate=nobody")]


@pytest.mark.parametrize("tab,query", TEXT_SEARCHES)
def test_a_bounded_text_search_pages_through_every_row_once(world, monkeypatch, tab, query):
    """A text filter reads at most SCAN_LIMIT runs of each kind per request; the "search older" pages that
    follow still list exactly the plain query's rows, none skipped, none twice."""
    monkeypatch.setattr(registry, "PAGE_SIZE", 4)
    monkeypatch.setattr(registry, "SCAN_LIMIT", 5)
    monkeypatch.setattr(keyset, "WINDOW", 3)
    monkeypatch.setattr(keyset, "GROWTH", 2)
    spec, args = TABS[tab], MultiDict([query.split("=")])
    for user in world:
        assert _paged(spec, user, args) == _plain(spec, user, args), (tab, user.company_id, query)


def test_a_text_search_that_stops_early_says_so_and_offers_older(world, client, monkeypatch):
    monkeypatch.setattr(registry, "SCAN_LIMIT", 5)
    monkeypatch.setattr(keyset, "WINDOW", 3)
    client.login(world[0])
    body = client.htmx("GET", "/account/history/email?recipient=nobody").get_data(as_text=True)
    assert "Only the most recent actions were searched for this text." in body
    assert "No action matches these filters." not in body
    assert 'rel="next">Search older actions' in body
    result = registry.page(TABS["email"], world[0], MultiDict({"recipient": "nobody"}))
    assert result.partial and result.rows == []
    # Without a text filter nothing is bounded: an indexed filter still fills its page from the whole history.
    assert not registry.page(TABS["email"], world[0], MultiDict({"status": "not_sent"})).partial
