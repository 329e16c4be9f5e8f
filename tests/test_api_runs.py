"""The API's action runs (issue 13): the history's filters and scoping (the same runs as the history page for
the same filters), one run, and the history's Retry really re-running a failed run in a real worker."""

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from extensions import db
from models import ActionRun
from models.base import utcnow
from services.substates import open_substate
from tests import history_support as hs
from tests.api_support import bearer as auth
from tests.api_support import forget_locale_per_request, listed_ids, problem
from tests.engine_support import add_action, runs, status_of, wait_for


@pytest.fixture(autouse=True)
def _locale(app):
    forget_locale_per_request(app)


@pytest.fixture
def world(make):
    flow = make.flow((1, 2))
    inst_a, inst_b = make.company("installer", name="Posa A"), make.company("installer", name="Posa B")
    users = {"admin": make.user("admin"), "agent": make.user("agent"), "boss": make.user("manager", name="Boss"),
             "partner_a": make.user("partner", company=inst_a), "partner_b": make.user("partner", company=inst_b)}
    opps = {"a": make.opportunity(flow, name="Rossi kitchen", installer=inst_a),
            "b": make.opportunity(flow, name="Bianchi roof", installer=inst_b),
            "none": make.opportunity(flow, name="Verdi garden")}
    atype = make.activity_type("Site visit")
    for key, opp in opps.items():
        hs.email(opp, f"Welcome {key}", f"client-{key}@example.net")
        hs.email(opp, f"Reminder {key}", f"fail-{key}@example.net", status="failed", run_status="failed",
                 error="550 no such user")
        hs.run(opp, "send_email", "scheduled", due_at=utcnow() + timedelta(days=2))
        hs.activity(opp, atype, completed=key == "a")
        hs.substate(opp, flow.substates[0])
        hs.substate(opp, flow.substates[1], "close_substate", "skipped", reason="channel")
    hs.assignment(opps["a"], inst_a, "accepted")
    # Company B was once offered A's opportunity: A's users do not see B's assignment (the Assignment tab's rule).
    other_offer = hs.assignment(opps["a"], inst_b, "rejected")
    # A note to the boss alone on A's opportunity: the Notifications tab never shows it to A's partner users.
    secret = hs.notified(opps["a"], [users["boss"]], "Boss only")
    db.session.commit()
    return {"users": users, "opps": opps, "flow": flow, "secret": secret, "other_offer": other_offer}


def _ids(client, headers, query: str = "") -> list[int]:
    """Every run id the API lists for the query, following the cursors."""
    return listed_ids(client, "/api/v1/runs", headers, query, 3)


def _page_ids(client, user, tab: str, query: str) -> set[int]:
    """The run ids the history page's table shows this user for the same filters."""
    g.pop("_login_user", None)
    client.login(user)
    body = client.htmx("GET", f"/account/history/{tab}?{query}").get_data(as_text=True)
    client.post("/logout")
    g.pop("_login_user", None)
    return {int(i) for i in re.findall(r'id="run-(\d+)"', body)}


def test_admin_and_agent_list_every_run_newest_first(client, world):
    every = list(db.session.execute(select(ActionRun.id).order_by(ActionRun.id.desc())).scalars())
    for role in ("admin", "agent"):
        assert _ids(client, auth(world["users"][role])) == every


def test_a_partner_lists_only_their_companys_runs(client, world):
    a = world["opps"]["a"]
    partner = world["users"]["partner_a"]
    visible = _ids(client, auth(partner))
    rows = {r.id: r for r in db.session.execute(select(ActionRun)).scalars()}
    assert visible and all(rows[i].opportunity_id == a.id for i in visible)
    hidden = {world["secret"].id, world["other_offer"].id}  # as the Notifications and Assignment tabs hide them
    expected = {i for i, r in rows.items() if r.opportunity_id == a.id} - hidden
    assert set(visible) == expected
    # Company B sees nothing of A's opportunity (no longer theirs), not even its own old offer there.
    assert not set(_ids(client, auth(world["users"]["partner_b"]))) & expected


FILTERS = [
    ("email", ""),
    ("email", "status=not_sent"),
    ("email", "opportunity=rossi"),
    ("email", "template=Welcome%20b"),
    ("substates", "change=close_substate"),
    ("substates", "status=skipped"),
    ("activities", "status=completed"),
    ("assignment", ""),
    ("notifications", ""),
    ("email", "when_from={today}&when_to={today}"),
    ("email", "when_from={tomorrow}"),
]


@pytest.mark.parametrize("who", ["admin", "partner_a", "partner_b"])
def test_the_filters_give_the_history_pages_runs(client, world, who):
    today = utcnow().date()
    user, headers, found = world["users"][who], auth(world["users"][who]), 0
    for tab, query in FILTERS:
        query = query.format(today=today.isoformat(), tomorrow=(today + timedelta(days=1)).isoformat())
        expected = _page_ids(client, user, tab, query)
        assert set(_ids(client, headers, f"&tab={tab}&{query}")) == expected, (tab, query)
        found += len(expected)
    assert found  # the comparisons are not between empty lists only


def test_filters_without_a_tab(client, world):
    headers = auth(world["users"]["admin"])
    b = world["opps"]["b"]
    failed = _ids(client, headers, "&status=failed")
    assert failed and all(db.session.get(ActionRun, i).status == "failed" for i in failed)
    kinds = {db.session.get(ActionRun, i).kind for i in _ids(client, headers, "&kind=create_activity")}
    assert kinds == {"create_activity"}
    mine = _ids(client, headers, f"&opportunity_id={b.id}&kind=send_email")
    assert len(mine) == 3 and all(db.session.get(ActionRun, i).opportunity_id == b.id for i in mine)
    assert _ids(client, headers, "&opportunity=verdi&status=skipped") == [
        r.id for r in runs(opportunity_id=world["opps"]["none"].id, status="skipped")]
    closed = _ids(client, headers, "&tab=substates&kind=close_substate")
    assert len(closed) == 3 and {db.session.get(ActionRun, i).kind for i in closed} == {"close_substate"}
    assert _ids(client, headers, "&tab=substates&kind=send_email") == []
    problem(client.get("/api/v1/runs?tab=substates&kind=nope", headers=headers), 422)
    sub = world["flow"].substates[1]
    assert {db.session.get(ActionRun, i).substate_id for i in _ids(client, headers, f"&substate_id={sub.id}")} == {sub.id}


def test_get_one_run_scoped(client, world):
    a_run = runs(opportunity_id=world["opps"]["a"].id)[0]
    b_run = runs(opportunity_id=world["opps"]["b"].id)[0]
    body = client.get(f"/api/v1/runs/{a_run.id}", headers=auth(world["users"]["partner_a"])).get_json()
    assert body["id"] == a_run.id and body["opportunity"]["name"] == "Rossi kitchen" and body["kind"] == a_run.kind
    for run_id in (b_run.id, world["secret"].id, world["other_offer"].id, 2**31 - 1):
        problem(client.get(f"/api/v1/runs/{run_id}", headers=auth(world["users"]["partner_a"])), 404)
    assert client.get(f"/api/v1/runs/{b_run.id}", headers=auth(world["users"]["agent"])).status_code == 200


def test_bad_filters_are_refused_in_the_callers_language(client, world):
    headers = auth(world["users"]["admin"])
    body = problem(client.get("/api/v1/runs?tab=nope", headers=headers), 422)
    assert "tab" in body["errors"]
    body = problem(client.get("/api/v1/runs?tab=email&status=bogus", headers=headers), 422)
    assert "not_sent" in body["errors"]["status"][0]
    body = problem(client.get("/api/v1/runs?tab=substates&when_to=31/12/2026", headers=headers), 422)
    assert "when_to" in body["errors"]
    problem(client.get("/api/v1/runs?when_from=2026-02-30", headers=headers), 422)
    for query in ("when_to=9999-12-31", "tab=tasks&deadline_to=9999-12-31", "when_from=0001-01-01"):
        problem(client.get(f"/api/v1/runs?{query}", headers=headers), 422)  # "the day after" would overflow
    problem(client.get("/api/v1/runs?limit=0", headers=headers), 422)
    problem(client.get("/api/v1/runs?cursor=nonsense", headers=headers), 400)
    problem(client.get("/api/v1/runs?opportunity_id=0", headers=headers), 422)
    # A NUL character (PostgreSQL refuses it in text) is bad input, never a server error.
    for query in ("opportunity=a%00b", "tab=email&template=a%00b", "tab=substates&substate=%00"):
        assert "errors" in problem(client.get(f"/api/v1/runs?{query}", headers=headers), 422)


def test_retry_refusals(client, world):
    failed = runs(opportunity_id=world["opps"]["a"].id, status="failed")[0]
    succeeded = runs(opportunity_id=world["opps"]["a"].id, status="succeeded")[0]
    # A partner may not retry, not even on their own opportunity: 404 as on the page.
    problem(client.post(f"/api/v1/runs/{failed.id}/retry", headers=auth(world["users"]["partner_a"])), 404)
    # A read-only token may not change anything.
    body = problem(client.post(f"/api/v1/runs/{failed.id}/retry", headers=auth(world["users"]["admin"], ["read"])), 403)
    assert "write" in body["detail"]
    body = problem(client.post(f"/api/v1/runs/{succeeded.id}/retry",
                               headers=auth(world["users"]["admin"], lang="it")), 409)
    assert body["detail"] == "Si può riprovare solo un'esecuzione non riuscita." and body["title"] == "Conflitto"
    body = problem(client.post(f"/api/v1/runs/{succeeded.id}/retry",
                               headers=auth(world["users"]["admin"], lang="es")), 409)
    assert body["detail"] == "Solo se puede reintentar una ejecución fallida."
    problem(client.post("/api/v1/runs/999999/retry", headers=auth(world["users"]["admin"])), 404)
    assert runs(trigger="retry") == []  # nothing half-saved


def test_retry_of_a_failed_run_really_runs_again(client, make, workers):
    flow, other = make.flow((2,)), make.flow((1,))
    s1, s2 = flow.substates
    action = add_action(s1, "on_open", "open_substate", substate_id=other.substates[0].id)
    opp = make.opportunity(flow)
    agent = make.user("agent")
    workers.start(1)
    open_substate(opp, s1.id, None)
    db.session.commit()
    wait_for(lambda: runs()[0].status == "failed", message="first run failed")
    action.config = {"substate_id": s2.id}  # someone corrects the action, then retries the run
    db.session.commit()
    failed = runs()[0]
    headers = auth(agent)
    response = client.post(f"/api/v1/runs/{failed.id}/retry", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    new = response.get_json()
    assert new["trigger"] == "retry" and new["parent_run_id"] == failed.id
    assert new["status"] in ("pending", "running", "succeeded")  # the worker may already have it
    assert response.headers["Location"].endswith(f"/api/v1/runs/{new['id']}")
    wait_for(lambda: status_of(opp, s2) == "open", message="the retry opened the substate")
    wait_for(lambda: client.get(f"/api/v1/runs/{new['id']}", headers=headers).get_json()["status"] == "succeeded",
             message="the retry succeeded")
    assert client.get(f"/api/v1/runs/{failed.id}", headers=headers).get_json()["retried_by_id"] == new["id"]
    body = problem(client.post(f"/api/v1/runs/{failed.id}/retry", headers={**headers, "Accept-Language": "es"}), 409)
    assert str(new["id"]) in body["detail"] and body["title"] == "Conflicto"
