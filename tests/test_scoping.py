"""SPEC H3: a partner user sees only opportunities assigned to their company, on every route.

The matrix walks the app's whole URL map, so a route added later is covered without editing this file:
every endpoint, with its ids pointing at another company's records, must answer 404 to a partner user,
unless it is a page a partner may open (then it must not show the other company's data).

The JSON API (SPEC P4, /api/v1) reads no session: with one it answers 401, and it is walked again with
the partner's own bearer tokens — every rule naming another company's record is 404 (403 for a change
with a read-only token), every list shows none of them.
"""

import json

import pytest
from flask import g
from sqlalchemy import select

from extensions import db
from models import LongJob, Opportunity
from services import api_tokens
from services.tasks import create_task

# Endpoints a partner user may reach; each is checked for leaks instead of expecting 404.
PARTNER_PAGES = {"auth.index", "auth.login", "auth.logout", "auth.set_language", "opportunities.index", "static",
                 "auth.account", "auth.change_password", "auth.logout_everywhere", "history.index", "history.tab", "history.partner_home",
                 "history.notifications", "history.bell", "tasks.index"}
# The calendar: every user has one (it shows only what they may see); the feed's own token decides the rest.
PARTNER_PAGES |= {"calendar.index", "calendar.feed_create", "calendar.feed_revoke"}
# Every user manages their own API tokens (another user's token id is a 404: the walk names the victim's).
PARTNER_PAGES |= {"auth.api_tokens_page", "auth.api_token_create"}
# Everyone has a list of the long work they started; another user's work is a 404 (the walk names the victim's).
PARTNER_PAGES |= {"progress.index"}
# The failure inbox: the runs of the partner's own opportunities only, as the action history (SPEC E10).
PARTNER_PAGES |= {"inbox.index"}
# The API's documents: public, as they hold no data (calls still need a token).
API_PUBLIC = {"api-docs.openapi_json", "api_docs.reference"}
API_PREFIX = "/api/v1/"
# URL arguments naming records a partner sees only on their company's opportunities: an API rule naming the
# victim's must be 404. Other arguments (a flow's type, state…) name shared records: checked for leaks only.
SCOPED_ARGS = {"opp_id", "opportunity_id", "customer_id", "task_id", "run_id", "activity_id", "assignment_id",
               "token_id", "job_id", "file_id", "entry_id", "notification_id"}
# The flow dashboard: a type's figures computed over the partner's own opportunities only (no names shown).
PARTNER_PAGES |= {"dashboard.index", "dashboard.type_page"}


@pytest.fixture
def world(make):
    """Two installer and two commercial companies, each with a user and one assigned opportunity."""
    flow = make.flow((2, 2))
    for sub in flow.substates:
        sub.partner_can_act = True
    companies = {key: make.company(kind) for key, kind in
                 [("inst_a", "installer"), ("inst_b", "installer"), ("comm_a", "commercial"), ("comm_b", "commercial")]}
    users = {key: make.user("partner", company=c) for key, c in companies.items()}
    opps = {
        "a": make.opportunity(flow, name="Alpha secret deal", installer=companies["inst_a"], commercial=companies["comm_a"]),
        "b": make.opportunity(flow, name="Bravo secret deal", installer=companies["inst_b"], commercial=companies["comm_b"]),
        "none": make.opportunity(flow, name="Nobody's secret deal"),
    }
    # A task on the victim's opportunity: its page and status form must be 404 to the other companies.
    task = create_task(opps["a"], "Alpha secret deal call", responsible_id=users["inst_a"].id)
    # The victim company's user's API token: its revoke button must be 404 to everyone else.
    victim_token, _plain = api_tokens.create_token(users["inst_a"], "Alpha secret deal token", {"read"}, 30)
    # The victim's long work in the background: its bar and cancel button must be 404 to everyone else.
    victim_job = LongJob(kind="bulk_retry", user_id=users["inst_a"].id, params={"about": "Alpha secret deal"}, total=9)
    db.session.add(victim_job)
    db.session.commit()
    _calendar_items(make, opps, users)
    return {"flow": flow, "companies": companies, "users": users, "opps": opps, "task": task,
            "token_id": victim_token.id, "job_id": victim_job.id}


def _calendar_items(make, opps, users) -> None:
    """Activities and task deadlines of the other company's and the unassigned opportunity, due today, with
    every partner as responsible, invitee or participant: the calendar and feed must still hide them."""
    from models import Task, TaskPerson
    from models.base import utcnow
    from models.work import activity_invitee

    for key in ("a", "none"):
        for user in users.values():
            activity = make.activity(opps[key], subject="Calendar visit", due_at=utcnow(), in_calendar=True,
                                     responsible_id=user.id)
            others = [u for u in users.values() if u is not user]
            db.session.execute(activity_invitee.insert(), [{"activity_id": activity.id, "user_id": u.id} for u in others])
            db.session.add(Task(opportunity_id=opps[key].id, title="Calendar task", responsible_id=user.id,
                                deadline=utcnow(), people=[TaskPerson(user_id=u.id, role="participant") for u in others]))
    db.session.commit()


def _url_for_rule(rule, victim: Opportunity, task_id: int = 1, token_id: int = 1, job_id: int = 1) -> str | None:
    values = {}
    for arg in rule.arguments:
        if arg == "filename":
            values[arg] = "css/app.css"
        elif arg in {"opp_id", "opportunity_id"}:
            values[arg] = victim.id
        elif arg == "customer_id":
            values[arg] = victim.customer_id
        elif arg == "substate_id":
            values[arg] = victim.type.substates[0].id
        elif arg in {"type_id"}:
            values[arg] = victim.type_id
        elif arg == "action":
            values[arg] = "open"
        elif arg == "task_id":
            values[arg] = task_id
        elif arg == "token_id":
            values[arg] = token_id
        elif arg == "job_id":
            values[arg] = job_id
        else:
            values[arg] = 1
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:
        return None


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint not in {"static"}]


@pytest.mark.parametrize("viewer", ["inst_b", "comm_b"])
def test_every_route_hides_other_companies_opportunities(app, client, world, viewer):
    client.login(world["users"][viewer])
    victim = world["opps"]["a"]
    checked = 0
    for rule in _rules(app):
        url = _url_for_rule(rule, victim, world["task"].id, world["token_id"], world["job_id"])
        assert url, f"cannot build {rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint in {"auth.logout", "auth.logout_everywhere"}:
                continue  # would end the session under test; it shows no data
            response = client.open(url, method=method, data={})
            body = response.get_data(as_text=True)
            assert "Alpha secret deal" not in body, f"{method} {url} leaks another company's opportunity"
            assert "Nobody's secret deal" not in body, f"{method} {url} leaks an unassigned opportunity"
            if rule.rule.startswith(API_PREFIX):
                # The API never reads the session cookie (so it needs no CSRF): a logged-in browser gets 401.
                assert response.status_code == 401, f"{method} {url} gave {response.status_code} to a session"
            elif rule.endpoint not in PARTNER_PAGES | API_PUBLIC:
                assert response.status_code == 404, f"{method} {url} gave {response.status_code}, not 404"
            checked += 1
    assert checked >= 10
    # Nothing changed on the victim's opportunity either.
    assert not db.session.execute(select(Opportunity).where(Opportunity.id == victim.id)).scalar_one().substates


def _hidden_ids_in(payload, hidden: set[int], listing: bool) -> set[int]:
    """Ids of hidden opportunities an API answer carries: as `opportunity_id`, as an `opportunity` reference,
    or (a list of opportunities) as an item's own id."""
    found = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "opportunity_id" and value in hidden:
                found.add(value)
            elif key == "opportunity" and isinstance(value, dict) and value.get("id") in hidden:
                found.add(value["id"])
            elif key == "items" and listing and isinstance(value, list):
                found |= {item.get("id") for item in value if isinstance(item, dict)} & hidden
            found |= _hidden_ids_in(value, hidden, False)
    elif isinstance(payload, list):
        for value in payload:
            found |= _hidden_ids_in(value, hidden, listing)
    return found


def api_rules(app):
    """The /api/v1 rules of the URL map (every resource module, whoever wrote it)."""
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(API_PREFIX)]


@pytest.mark.parametrize("viewer", ["inst_b", "comm_b"])
def test_every_api_route_hides_other_companies_opportunities_from_a_partner_token(app, client, world, viewer):
    """The partner's tokens (read and write) on every /api/v1 rule, ids naming the victim's records: 404 (a
    change with a read token: 403), lists without them, nothing changed."""
    from services import api_tokens

    user = world["users"][viewer]
    _, write = api_tokens.create_token(user, "write", {"read", "write"}, 30)
    _, read = api_tokens.create_token(user, "read", {"read"}, 30)
    db.session.commit()
    victim = world["opps"]["a"]
    hidden = {victim.id, world["opps"]["none"].id}
    checked = 0
    for rule in api_rules(app):
        url = _url_for_rule(rule, victim, world["task"].id, world["token_id"], world["job_id"])
        assert url, f"cannot build {rule}"
        scoped = bool(set(rule.arguments) & SCOPED_ARGS)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            calls = [(write, {}), (read, {})]
            if method == "GET" and not rule.arguments:
                calls.append((write, {"q": "secret", "limit": 200}))
            for plaintext, query in calls:
                g.pop("_login_user", None)
                response = client.open(url, method=method, query_string=query, headers={
                    "Authorization": f"Bearer {plaintext}"}, **({} if method == "GET" else {"json": {}}))
                body = response.get_data(as_text=True)
                where = f"{method} {url}{'?' + str(query) if query else ''} ({'read' if plaintext == read else 'write'})"
                assert response.status_code < 500, f"{where} gave {response.status_code}"
                assert "Alpha secret deal" not in body, f"{where} leaks another company's opportunity"
                assert "Nobody's secret deal" not in body, f"{where} leaks an unassigned opportunity"
                if response.is_json:
                    leaked = _hidden_ids_in(json.loads(body), hidden, listing=not rule.arguments)
                    assert not leaked, f"{where} leaks opportunity ids {leaked}"
                if method != "GET" and plaintext == read:
                    assert response.status_code == 403, f"{where} gave {response.status_code}, not 403"
                elif scoped:
                    assert response.status_code == 404, f"{where} gave {response.status_code}, not 404"
                checked += 1
    assert checked >= 5
    # The walk was not refused wholesale: the partner's token does list their own company's opportunity.
    g.pop("_login_user", None)
    own = client.get("/api/v1/opportunities", headers={"Authorization": f"Bearer {read}"}).json
    assert [item["name"] for item in own["items"]] == ["Bravo secret deal"]
    db.session.expire_all()
    assert not db.session.execute(select(Opportunity).where(Opportunity.id == victim.id)).scalar_one().substates


@pytest.mark.parametrize("viewer", ["inst_a", "comm_a"])
def test_partner_sees_and_works_own_opportunity(client, world, viewer):
    client.login(world["users"][viewer])
    own = world["opps"]["a"]
    listing = client.get("/opportunities").get_data(as_text=True)
    assert "Alpha secret deal" in listing
    assert "Bravo secret deal" not in listing and "Nobody&#39;s secret deal" not in listing
    assert "1 opportunity" in listing
    assert client.get(f"/opportunities/{own.id}").status_code == 200
    sub = own.type.substates[0]
    assert client.htmx("POST", f"/opportunities/{own.id}/substates/{sub.id}/open").status_code == 200


def test_search_and_filters_never_widen_partner_scope(client, world):
    client.login(world["users"]["inst_a"])
    for query in ["?q=secret", "?q=Bravo", f"?type={world['flow'].id}", "?page=2", "?state=1&channel=1"]:
        body = client.get(f"/opportunities{query}").get_data(as_text=True)
        assert "Bravo secret deal" not in body and "Nobody&#39;s secret deal" not in body


def test_partner_cannot_act_on_substates_not_marked_for_partners(client, world):
    world["flow"].substates[1].partner_can_act = False
    db.session.commit()
    client.login(world["users"]["inst_a"])
    own = world["opps"]["a"]
    response = client.htmx("POST", f"/opportunities/{own.id}/substates/{world['flow'].substates[1].id}/open")
    assert response.status_code == 403
    assert not own.substates


def test_partner_without_company_sees_nothing(client, make, world):
    orphan = make.user("partner")
    client.login(orphan)
    assert "0 opportunities" in client.get("/opportunities").get_data(as_text=True)
