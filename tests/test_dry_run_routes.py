"""D11 Dry run pages: the designer's substate panel tab and the opportunity page, for internal users only;
bad choices come back as a message with a 4xx, and nothing is ever saved."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import ActionRun, Opportunity, OpportunitySubstate, SubstateEvent
from services.substates import open_substate
from tests.engine_support import add_action


@pytest.fixture
def world(make):
    flow = make.flow((2,))
    a, b = flow.substates
    owner = make.user("manager", name="Owner")
    add_action(a, "on_open", "open_substate", substate_id=b.id)
    add_action(b, "on_open", "add_history_entry", text="B opened for {{ opportunity.name }}", author_id=owner.id)
    opp = make.opportunity(flow, name="Impianto Verdi", owner=owner)
    other = make.flow((1,))
    return {"flow": flow, "a": a, "b": b, "opp": opp, "other": other, "other_opp": make.opportunity(other)}


def _counts():
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (ActionRun, Opportunity, OpportunitySubstate, SubstateEvent))


def _designer_url(w, sub=None):
    return f"/settings/types/{w['flow'].id}/substates/{(sub or w['a']).id}/dry-run"


def test_designer_tab_shows_the_tree_for_an_opportunity_and_a_sample(client, make, world):
    client.login(make.user("agent"))
    panel = client.htmx("GET", f"/settings/types/{world['flow'].id}/substates/{world['a'].id}?tab=dryrun")
    assert panel.status_code == 200 and "Impianto Verdi" in panel.get_data(as_text=True)
    before = _counts()
    for choice in (str(world["opp"].id), ""):
        response = client.htmx("POST", _designer_url(world), data={"opportunity_id": choice, "event": "open"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html
        assert "Open substate" in html and "Add history entry" in html and "Substate 1.2" in html
        assert ("Impianto Verdi" if choice else "Sample opportunity") in html
        # Nothing ran: what would succeed says so, not a run's "Succeeded".
        assert "Would run" in html and "Succeeded" not in html
    assert _counts() == before
    page = client.post(_designer_url(world), data={"opportunity_id": world["opp"].id, "event": "open"})
    assert page.status_code == 200 and "Add history entry" in page.get_data(as_text=True)


def test_opportunity_page_shows_the_tree(client, make, world):
    client.login(make.user("manager"))
    detail = client.get(f"/opportunities/{world['opp'].id}").get_data(as_text=True)
    assert f"/opportunities/{world['opp'].id}/dry-run" in detail
    assert client.get(f"/opportunities/{world['opp'].id}/dry-run").status_code == 200
    before = _counts()
    response = client.htmx("POST", f"/opportunities/{world['opp'].id}/dry-run",
                           data={"substate_id": world["a"].id, "event": "open"})
    assert response.status_code == 200 and "Add history entry" in response.get_data(as_text=True)
    page = client.post(f"/opportunities/{world['opp'].id}/dry-run", data={"substate_id": world["a"].id, "event": "open"})
    assert page.status_code == 200 and "Add history entry" in page.get_data(as_text=True)
    assert _counts() == before


@pytest.mark.parametrize("data, status, message", [
    ({"opportunity_id": "garbage"}, 404, "Choose an opportunity of this type."),
    ({"opportunity_id": "99999999"}, 404, "Choose an opportunity of this type."),
    ({"opportunity_id": "other"}, 404, "Choose an opportunity of this type."),
    ({"event": "explode"}, 422, "Choose whether the substate opens or closes."),
])
def test_designer_bad_choices_are_4xx_with_a_message(client, make, world, data, status, message):
    client.login(make.user("manager"))
    if data.get("opportunity_id") == "other":
        data = {"opportunity_id": world["other_opp"].id}
    before = _counts()
    response = client.htmx("POST", _designer_url(world), data=data)
    assert response.status_code == status and message in response.get_data(as_text=True)
    assert _counts() == before


def test_opportunity_bad_choices_are_4xx_with_a_message(client, make, world):
    client.login(make.user("manager"))
    url = f"/opportunities/{world['opp'].id}/dry-run"
    wrong = "This substate does not belong to the flow of this opportunity."
    for substate_id in ("garbage", "", world["other"].substates[0].id, 99999999):
        response = client.htmx("POST", url, data={"substate_id": substate_id, "event": "open"})
        assert response.status_code == 404 and wrong in response.get_data(as_text=True)
    open_substate(world["opp"], world["a"].id, None)
    db.session.commit()
    before = _counts()
    response = client.htmx("POST", url, data={"substate_id": world["a"].id, "event": "open"})
    assert response.status_code == 409 and "is already open" in response.get_data(as_text=True)
    closing = client.htmx("POST", url, data={"substate_id": world["a"].id, "event": "close"})
    assert closing.status_code == 200
    assert client.htmx("POST", url, data={"substate_id": world["a"].id, "event": "x"}).status_code == 422
    assert _counts() == before
    # Another type's substate in the designer's URL is a 404 too.
    other_url = f"/settings/types/{world['flow'].id}/substates/{world['other'].substates[0].id}/dry-run"
    assert client.htmx("POST", other_url, data={}).status_code == 404


def test_partners_never_reach_it(client, make, world):
    company = make.company("installer")
    world["opp"].installer = company
    db.session.commit()
    client.login(make.user("partner", company=company))
    assert client.get(f"/opportunities/{world['opp'].id}/dry-run").status_code == 404
    assert client.htmx("POST", f"/opportunities/{world['opp'].id}/dry-run",
                       data={"substate_id": world["a"].id}).status_code == 404
    assert client.htmx("POST", _designer_url(world), data={}).status_code == 404
    assert "/dry-run" not in client.get(f"/opportunities/{world['opp'].id}").get_data(as_text=True)
