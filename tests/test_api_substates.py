"""Substates in the API (issue 13): an opportunity's flow with each substate's status and times, and opening
and closing one with the flow panel's rules — required fields and the note asked for (422 listing them,
nothing changed), then the close with them (on-close actions queued), partners only where allowed."""

import pytest

from extensions import db
from models import FieldValue, HistoryEntry, OpportunitySubstate, SubstateRequirement
from services.substates import open_substate
from tests.api_support import ApiClient, bearer, count, problem, with_lang
from tests.engine_support import add_action, runs, status_of
from tests.test_api_opportunities import custom


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def world(make):
    flow = make.flow((2, 1))
    partner = make.partner("installer")
    own = make.opportunity(flow, installer_id=partner.company_id)
    other = make.opportunity(flow)
    return {"flow": flow, "partner": partner, "own": own, "other": other, "admin": make.user("admin"),
            "agent": make.user("agent")}


def url(opp, sub=None, action=None) -> str:
    base = f"/api/v1/opportunities/{opp.id}/substates"
    return base if sub is None else f"{base}/{sub.id}/{action}"


def test_the_flow_lists_every_substate_with_its_status_and_times(api, world):
    opp, (s1, s2, s3) = world["own"], world["flow"].substates
    open_substate(opp, s1.id, world["admin"])
    db.session.commit()
    got = api.get(url(opp), headers=bearer(world["agent"])).get_json()
    assert [(s["id"], s["status"]) for s in got["items"]] == [(s1.id, "open"), (s2.id, "pending"), (s3.id, "pending")]
    first = got["items"][0]
    assert first["opened_at"] and first["closed_at"] is None and first["opened_by"]["id"] == world["admin"].id
    assert first["may_act"] is True and first["close_needs"] == {"fields": [], "note": False}
    assert first["state"]["name"] == "State 1"


def test_open_then_close_as_an_agent(api, world):
    opp, s1 = world["own"], world["flow"].substates[0]
    headers = bearer(world["agent"])
    opened = api.post(url(opp, s1, "open"), headers=headers)
    assert opened.status_code == 200, opened.data
    assert opened.get_json()["status"] == "open"
    problem(api.post(url(opp, s1, "open"), headers=headers), 409)
    closed = api.post(url(opp, s1, "close"), headers=headers, json={})
    assert closed.status_code == 200, closed.data
    assert closed.get_json()["status"] == "closed" and closed.get_json()["closed_at"]
    refused = problem(api.post(url(opp, s1, "close"), headers=with_lang(headers, "it"), json={}), 409)
    assert "non è aperto" in refused["detail"]


def test_closing_asks_for_the_required_field_and_note_then_closes_and_queues_on_close(api, world):
    opp, (s1, s2, _s3) = world["own"], world["flow"].substates
    s1.requires_note = True
    day = custom("survey_day", "date")
    db.session.add(SubstateRequirement(substate_id=s1.id, custom_field_id=day.id))
    add_action(s1, "on_close", "open_substate", substate_id=s2.id)
    open_substate(opp, s1.id, None)
    db.session.commit()
    headers = with_lang(bearer(world["agent"]), "it")
    assert api.get(url(opp), headers=headers).get_json()["items"][0]["close_needs"] == {
        "fields": ["survey_day"], "note": True}
    before = (count(FieldValue), count(HistoryEntry), len(runs()))
    refused = problem(api.post(url(opp, s1, "close"), headers=headers, json={}), 422)
    assert refused["errors"]["values.survey_day"] == "Compila questo campo per chiudere “Substate 1.1”."
    assert "note" in refused["errors"] and "Survey_Day" in refused["detail"]
    bad = problem(api.post(url(opp, s1, "close"), headers=headers,
                           json={"values": {"survey_day": "05/03/2026"}, "note": "Fatto"}), 422)
    assert list(bad["errors"]) == ["values.survey_day"]
    problem(api.post(url(opp, s1, "close"), headers=headers, json={"values": {"nope": 1}}), 422)
    assert status_of(opp, s1) == "open"
    assert (count(FieldValue), count(HistoryEntry), len(runs())) == before
    closed = api.post(url(opp, s1, "close"), headers=headers,
                      json={"values": {"survey_day": "2026-03-05"}, "note": "Sopralluogo fatto"})
    assert closed.status_code == 200, closed.data
    assert status_of(opp, s1) == "closed"
    fields = api.get(f"/api/v1/opportunities/{opp.id}", headers=headers).get_json()["fields"]
    assert fields["survey_day"] == "2026-03-05"
    assert any(r.kind == "open_substate" and r.trigger == "on_close" for r in runs())
    assert count(HistoryEntry) == before[1] + 1


def test_partners_act_only_on_their_own_where_the_substate_lets_them(api, world):
    s1, s2 = world["flow"].substates[:2]
    s2.partner_can_act = True
    db.session.commit()
    partner = with_lang(bearer(world["partner"]), "es")
    own, other = world["own"], world["other"]
    assert api.get(url(own), headers=partner).status_code == 200
    problem(api.get(url(other), headers=partner), 404)
    problem(api.post(url(other, s2, "open"), headers=partner), 404)
    refused = problem(api.post(url(own, s1, "open"), headers=partner), 403)
    assert refused["detail"] == "No puedes modificar este subestado."
    assert api.post(url(own, s2, "open"), headers=partner).status_code == 200
    assert api.post(url(own, s2, "close"), headers=partner, json={}).status_code == 200
    listed = api.get(url(own), headers=partner).get_json()["items"]
    assert [s["may_act"] for s in listed] == [False, True, False]


def test_read_only_tokens_and_foreign_substates_change_nothing(api, world, make):
    opp, s1 = world["own"], world["flow"].substates[0]
    foreign = make.flow((1,)).substates[0]
    before = count(OpportunitySubstate)
    problem(api.post(url(opp, s1, "open"), headers=bearer(world["admin"], ("read",))), 403)
    problem(api.post(url(opp, foreign, "open"), headers=bearer(world["admin"])), 404)
    problem(api.post(f"/api/v1/opportunities/{opp.id}/substates/{s1.id}/close", headers=bearer(world["admin"]),
                     json={"note": 5}), 422)
    assert count(OpportunitySubstate) == before
