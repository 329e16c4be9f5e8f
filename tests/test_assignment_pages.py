"""Settings → Assignment criteria (SPEC S5) and the partner's Accept / Reject on the opportunity page."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Assignment, AssignmentRule, Opportunity
from services import assignment as svc


def fresh(model, record_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, record_id)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def rule_form(companies=(), weights=None, **changes) -> dict:
    data = {"partner_kind": "installer", "type_id": "", "channel_id": "", "province": "", "postal_prefix": "",
            "strategy": "round_robin", "active": "y", "company": [str(c.id) for c in companies]}
    for company, weight in zip(companies, weights or [1] * len(companies), strict=True):
        data[f"weight-{company.id}"] = str(weight)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- access -------------------------------------------------------------------------------------------

ROUTES = [("GET", "/settings/assignment-criteria"), ("GET", "/settings/assignment-criteria/new"),
          ("POST", "/settings/assignment-criteria/new"), ("GET", "/settings/assignment-criteria/{id}"),
          ("POST", "/settings/assignment-criteria/{id}"), ("POST", "/settings/assignment-criteria/{id}/activate"),
          ("POST", "/settings/assignment-criteria/{id}/deactivate"),
          ("POST", "/settings/assignment-criteria/{id}/delete")]


def test_admin_opens_the_pages(client, admin, make):
    rule = make.rule(province="MI")
    for method, url in ROUTES:
        if method == "GET":
            assert client.get(url.format(id=rule.id)).status_code == 200
    assert 'href="/settings/assignment-criteria"' in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("manager", 403), ("agent", 403), ("partner", 404)])
def test_others_are_refused_and_nothing_changes(client, make, method, url, role, status):
    rule = make.rule(province="MI")
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=rule.id), method=method, data=rule_form(province="RM"))
    assert response.status_code == status
    rule = fresh(AssignmentRule, rule.id)
    assert (rule.province, rule.active, count(AssignmentRule)) == ("MI", True, 1)


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "POST"])
def test_posts_without_csrf_are_refused(client, admin, make, method, url):
    rule = make.rule(province="MI")
    response = client.post(url.format(id=rule.id), data=rule_form(province="RM"), csrf=False)
    assert response.status_code == 400 and fresh(AssignmentRule, rule.id).province == "MI"


def test_designer_prerequisite_now_links_to_the_page(app, make):
    """Linked for an administrator; a sales manager cannot open it (403), so is told who sets it up."""
    from flask_login import login_user

    from engine.kinds import get_kind

    flow = make.flow((1,))
    admin, manager = make.user("admin"), make.user("manager")
    with app.test_request_context():
        login_user(admin)
        (missing,) = get_kind("assign_installer").prerequisites(flow.substates[0])
        assert missing.url == "/settings/assignment-criteria"
    with app.test_request_context():
        login_user(manager)
        (missing,) = get_kind("assign_installer").prerequisites(flow.substates[0])
        assert missing.url is None


# --- create, edit, validation -------------------------------------------------------------------------


def test_create_with_conditions_strategy_and_weights(client, admin, make):
    flow, web = make.flow((1,)), make.channel("Web")
    a, b = make.company("installer", name="Solare Nord"), make.company("installer", name="Sol Levante")
    response = client.post("/settings/assignment-criteria/new", data=rule_form(
        [a, b], [3, 1], type_id=str(flow.id), channel_id=str(web.id), province=" MI ", postal_prefix="20 1",
        strategy="weighted"))
    assert response.status_code == 302 and response.location == "/settings/assignment-criteria"
    rule = db.session.execute(select(AssignmentRule)).scalar_one()
    assert (rule.partner_kind, rule.type_id, rule.channel_id, rule.province, rule.postal_prefix, rule.strategy) == (
        "installer", flow.id, web.id, "MI", "201", "weighted")
    assert sorted((link.company_id, link.weight) for link in rule.companies) == [(a.id, 3), (b.id, 1)]
    listing = client.get("/settings/assignment-criteria").get_data(as_text=True)
    assert "Solare Nord (3)" in listing and "201" in listing and "By weight" in listing


@pytest.mark.parametrize("changes,message", [
    ({"company": []}, "Choose at least one company."),
    ({"partner_kind": "plumber"}, "Choose installer or commercial."),
    ({"strategy": "random"}, "Choose how the company is picked."),
    ({"postal_prefix": "20-1"}, "A postal-code prefix is up to 10 letters or digits"),
    ({"province": "x" * 61}, "At most 60 characters."),
    ({"type_id": "9999"}, "The chosen opportunity type does not exist."),
    ({"channel_id": "9999"}, "The chosen channel does not exist."),
    ({"weight": "0"}, "Weights are whole numbers from 1 to 100."),
    ({"weight": "abc"}, "Weights are whole numbers from 1 to 100."),
    ({"weight": "101"}, "Weights are whole numbers from 1 to 100."),
    ({"commercial": True}, "is not a company of the criterion&#39;s kind"),
    ({"duplicate": True}, "Another active criterion already has exactly these conditions"),
    ({"company": ["9999"]}, "A chosen company does not exist any more."),
])
def test_bad_input_is_refused_with_422_and_nothing_saved(client, admin, make, changes, message):
    changes = dict(changes)  # the parameter is shared by both backends' runs
    installer = make.company("installer")
    if changes.pop("duplicate", False):
        make.rule(province="MI")
    before = count(AssignmentRule)
    data = rule_form([installer], province="MI")
    if "weight" in changes:
        data[f"weight-{installer.id}"] = changes.pop("weight")
    if changes.pop("commercial", False):
        other = make.company("commercial")
        data["company"].append(str(other.id))
    data.update(changes)
    response = client.post("/settings/assignment-criteria/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(AssignmentRule) == before


def test_edit_keeps_the_rule_and_its_history(client, admin, make):
    a, b = make.company("installer"), make.company("installer")
    rule = make.rule(companies=[a], province="MI")
    opp = make.opportunity(province="MI")
    svc.assign(opp, "installer")
    db.session.commit()
    page = client.get(f"/settings/assignment-criteria/{rule.id}").get_data(as_text=True)
    assert f'name="company" value="{a.id}" checked' in page
    response = client.post(f"/settings/assignment-criteria/{rule.id}",
                           data=rule_form([a, b], strategy="least_loaded", province="TO"))
    assert response.status_code == 302
    rule = fresh(AssignmentRule, rule.id)
    assert (rule.province, rule.strategy, len(rule.companies)) == ("TO", "least_loaded", 2)
    assert db.session.execute(select(Assignment.rule_id)).scalar_one() == rule.id


def test_kind_select_asks_for_that_kinds_companies(client, admin, make):
    make.company("installer", name="Solare Nord")
    make.company("commercial", name="Vendite Sud")
    response = client.htmx("GET", "/settings/assignment-criteria/new?partner_kind=commercial",
                           headers={"HX-Target": "rule-companies"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<fieldset id="rule-companies"')
    assert "Vendite Sud" in body and "Solare Nord" not in body


def test_deactivate_activate_and_delete(client, admin, make):
    rule = make.rule(province="MI")
    opp = make.opportunity(province="MI")
    assignment = svc.assign(opp, "installer")
    db.session.commit()
    assert client.post(f"/settings/assignment-criteria/{rule.id}/deactivate").status_code == 302
    assert not fresh(AssignmentRule, rule.id).active
    twin = make.rule(province="MI")
    response = client.post(f"/settings/assignment-criteria/{rule.id}/activate")
    assert response.status_code == 409 and "exactly these conditions" in response.get_data(as_text=True)
    assert not fresh(AssignmentRule, rule.id).active
    client.post(f"/settings/assignment-criteria/{twin.id}/delete")
    assert client.post(f"/settings/assignment-criteria/{rule.id}/activate").status_code == 302
    assert client.post(f"/settings/assignment-criteria/{rule.id}/delete").status_code == 302
    assert count(AssignmentRule) == 0
    kept = fresh(Assignment, assignment.id)
    assert kept is not None and kept.rule_id is None


@pytest.mark.parametrize("suffix", ["", "/activate", "/deactivate", "/delete"])
def test_unknown_rule_is_404(client, admin, suffix):
    assert client.post(f"/settings/assignment-criteria/9999{suffix}", data=rule_form()).status_code == 404


# --- accept and reject ----------------------------------------------------------------------------------


@pytest.fixture
def assigned(make):
    """An opportunity assigned (pending) to an installer by the criteria, and a user of that installer."""
    company = make.company("installer", name="Solare Nord")
    backup = make.company("installer", name="Sol Levante")
    make.rule(companies=[company, backup])
    opp = make.opportunity(name="Impianto Bianchi")
    assignment = svc.assign(opp, "installer")
    db.session.commit()
    return {"opp": opp, "assignment": assignment, "user": make.user("partner", company=company),
            "company": company, "backup": backup}


def _url(world, action):
    return f"/opportunities/{world['opp'].id}/assignments/{world['assignment'].id}/{action}"


def test_partner_accepts_and_it_is_recorded(client, assigned):
    client.login(assigned["user"])
    page = client.get(f"/opportunities/{assigned['opp'].id}").get_data(as_text=True)
    assert "Accept</button>" in page and "Reject assignment" in page
    response = client.htmx("POST", _url(assigned, "accept"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="assignments"')
    assert "Accepted" in body and "Accept</button>" not in body
    done = fresh(Assignment, assigned["assignment"].id)
    assert (done.status, done.responded_by_id) == ("accepted", assigned["user"].id) and done.responded_at
    again = client.htmx("POST", _url(assigned, "accept"))
    assert again.status_code == 409 and "already answered" in again.get_data(as_text=True)


def test_reject_needs_a_reason(client, assigned):
    client.login(assigned["user"])
    response = client.htmx("POST", _url(assigned, "reject"), data={"reason": "  "})
    assert response.status_code == 422 and "Say why you reject the assignment." in response.get_data(True)
    page = client.post(_url(assigned, "reject"), data={"reason": ""})
    assert page.status_code == 422 and "Say why you reject the assignment." in page.get_data(True)
    assert fresh(Assignment, assigned["assignment"].id).status == "pending"
    assert fresh(Opportunity, assigned["opp"].id).installer_id == assigned["company"].id


def test_reject_unassigns_the_company_and_the_next_assignment_leaves_it_out(client, make, assigned):
    client.login(assigned["user"])
    response = client.htmx("POST", _url(assigned, "reject"), data={"reason": "Too far from our area"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/opportunities"
    done = fresh(Assignment, assigned["assignment"].id)
    assert (done.status, done.reason, done.responded_by_id) == ("rejected", "Too far from our area",
                                                                assigned["user"].id)
    opp = fresh(Opportunity, assigned["opp"].id)
    assert opp.installer_id is None
    assert client.get(f"/opportunities/{opp.id}").status_code == 404
    assert "Impianto Bianchi" not in client.get("/opportunities").get_data(as_text=True)
    # The internal team sees who rejected, when and why.
    client.post("/logout")
    client.login(make.user("manager"))
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert "Rejected" in page and "Too far from our area" in page
    assert svc.assign(opp, "installer").company_id == assigned["backup"].id


def test_only_the_assigned_company_may_answer(client, make, assigned):
    client.login(make.user("manager"))
    assert client.htmx("POST", _url(assigned, "accept")).status_code == 403
    client.post("/logout")
    client.login(make.partner("installer"))  # another installer: the opportunity does not exist for it
    assert client.post(_url(assigned, "accept")).status_code == 404
    assert client.post(_url(assigned, "reject"), data={"reason": "x"}).status_code == 404
    assert fresh(Assignment, assigned["assignment"].id).status == "pending"


def test_assignment_of_another_opportunity_is_404(client, make, assigned):
    own = make.opportunity(installer=assigned["company"])
    client.login(assigned["user"])
    url = f"/opportunities/{own.id}/assignments/{assigned['assignment'].id}/accept"
    assert client.post(url).status_code == 404
    assert fresh(Assignment, assigned["assignment"].id).status == "pending"
