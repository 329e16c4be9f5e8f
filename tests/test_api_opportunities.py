"""Opportunities in the API (issue 13): create and update through the pages' service, custom fields set by key
with canonical JSON values (a process automation follows, as on the page), one field read and set, and the
same access rules as the pages: partners read their company's only and change nothing."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from extensions import db
from models import CustomField, FieldValue, Opportunity, ProcessAutomation
from services.substates import open_substate
from tests.api_support import ApiClient, bearer, count, problem, with_lang
from tests.engine_support import add_action, runs, status_of

URL = "/api/v1/opportunities"


def custom(key, field_type="number", types=(), **kw) -> CustomField:
    field = CustomField(key=key, name=key.title(), name_i18n={}, field_type=field_type,
                        options=kw.pop("options", []), types=list(types), **kw)
    db.session.add(field)
    db.session.commit()
    return field


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def world(make):
    """A flow, a channel, a customer, an installer with its partner user and an opportunity of theirs."""
    flow = make.flow((2,))
    channel, customer = make.channel(), make.customer()
    partner = make.partner("installer")
    own = make.opportunity(flow, installer_id=partner.company_id, channel=channel, customer=customer)
    other = make.opportunity(flow)
    return {"flow": flow, "channel": channel, "customer": customer, "partner": partner, "own": own, "other": other,
            "admin": make.user("admin"), "agent": make.user("agent")}


def body(world, **kw) -> dict:
    return {"name": "Impianto Rossi", "type_id": world["flow"].id, "channel_id": world["channel"].id,
            "customer_id": world["customer"].id, **kw}


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_internal_users_create_an_opportunity_that_the_list_then_shows(api, world, role):
    kwp, day = custom("kwp"), custom("survey_day", "date")
    colour = custom("colour", "multi_choice", options=[{"key": "red", "name": "Red"}, {"key": "blue", "name": "B"}])
    headers = bearer(world[role])
    response = api.post(URL, headers=headers, json=body(
        world, amount="9800.50", owner_id=world["agent"].id, company_name="Rossi Srl",
        fields={"kwp": 6.5, "survey_day": "2026-03-05", "colour": ["blue", "red"]}))
    assert response.status_code == 201, response.data
    created = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{created['id']}")
    assert created["amount"] == "9800.50" and created["company_name"] == "Rossi Srl"
    assert created["fields"] == {"kwp": "6.5000", "survey_day": "2026-03-05", "colour": ["red", "blue"]}
    opp = db.session.get(Opportunity, created["id"])
    assert opp.owner_id == world["agent"].id and opp.amount == Decimal("9800.50")
    assert {kwp.id, day.id, colour.id} == set(db.session.execute(
        select(FieldValue.field_id).where(FieldValue.opportunity_id == opp.id)).scalars())
    listed = api.get(URL, headers=headers).get_json()["items"]
    assert listed[0]["id"] == created["id"]
    assert api.get(response.headers["Location"], headers=headers).get_json()["name"] == "Impianto Rossi"


def test_partners_and_read_only_tokens_may_not_create_or_change(api, world):
    before = count(Opportunity)
    partner = bearer(world["partner"])
    problem(api.post(URL, headers=partner, json=body(world)), 403)
    problem(api.patch(f"{URL}/{world['own'].id}", headers=partner, json={"name": "Mine"}), 403)
    problem(api.patch(f"{URL}/{world['other'].id}", headers=partner, json={"name": "Theirs"}), 404)
    read_only = bearer(world["admin"], scopes=("read",))
    problem(api.post(URL, headers=read_only, json=body(world)), 403)
    problem(api.patch(f"{URL}/{world['own'].id}", headers=read_only, json={"name": "X"}), 403)
    assert count(Opportunity) == before
    db.session.expire_all()
    assert world["own"].name != "Mine"


def test_partner_reads_its_companys_opportunity_only(api, world):
    partner = bearer(world["partner"])
    assert api.get(f"{URL}/{world['own'].id}", headers=partner).status_code == 200
    problem(api.get(f"{URL}/{world['other'].id}", headers=partner), 404)
    assert [o["id"] for o in api.get(URL, headers=partner).get_json()["items"]] == [world["own"].id]


def test_update_changes_only_what_is_sent(api, world):
    opp = world["own"]
    response = api.patch(f"{URL}/{opp.id}", headers=bearer(world["agent"]),
                            json={"amount": 120, "contact_person": "Mario Rossi"})
    assert response.status_code == 200, response.data
    got = response.get_json()
    assert (got["amount"], got["contact_person"], got["name"]) == ("120.00", "Mario Rossi", opp.name)
    assert got["customer"]["id"] == world["customer"].id


@pytest.mark.parametrize("lang,words", [("it", "Scegli dall'elenco."), ("es", "Elige de la lista."),
                                        ("en", "Choose from the list.")])
def test_a_refused_field_names_it_in_the_requests_language_and_saves_nothing(api, world, lang, words):
    custom("colour", "choice", options=[{"key": "red", "name": "Red"}])
    custom("kwp")
    headers = with_lang(bearer(world["admin"]), lang)
    before = (count(Opportunity), count(FieldValue))
    refused = problem(api.post(URL, headers=headers, json=body(world, fields={"colour": "green", "kwp": 3})), 422)
    assert refused["errors"] == {"fields.colour": words}
    assert (count(Opportunity), count(FieldValue)) == before


def test_every_kind_of_bad_input_is_a_422_naming_the_attribute(api, world):
    custom("kwp")
    custom("day", "date")
    custom("ok", "yes_no")
    custom("remark", "text")
    headers = bearer(world["admin"])
    cases = [
        ({"name": "a\x00b"}, "name"), ({"fields": {"remark": "a\x00b"}}, "fields.remark"),
        ({"fields": {"re\x00mark": "x"}}, "fields"),
        ({"name": ""}, "name"), ({"amount": -1}, "amount"), ({"amount": "1.005"}, "amount"),
        ({"amount": "abc"}, "amount"), ({"type_id": 0}, "type_id"), ({"owner_id": world["partner"].id}, "owner_id"),
        ({"fields": {"kwp": "9.800,50"}}, "fields.kwp"), ({"fields": {"kwp": True}}, "fields.kwp"),
        ({"fields": {"day": "05/03/2026"}}, "fields.day"), ({"fields": {"ok": "yes"}}, "fields.ok"),
        ({"fields": {"nope": 1}}, "fields.nope"), ({"surprise": 1}, "surprise"),
    ]
    before = count(Opportunity)
    for extra, attribute in cases:
        refused = problem(api.post(URL, headers=headers, json=body(world, **extra)), 422)
        assert attribute in refused["errors"], (extra, refused)
    missing = problem(api.post(URL, headers=headers, json={"name": "Only a name"}), 422)
    assert {"type_id", "channel_id", "customer_id"} <= set(missing["errors"])
    unknown_customer = problem(api.post(URL, headers=headers, json=body(world, customer_id=99999)), 422)
    assert unknown_customer["detail"] == "Choose a customer."
    assert count(Opportunity) == before


def test_the_type_cannot_change_once_the_flow_started(api, world, make):
    opp = world["own"]
    open_substate(opp, world["flow"].substates[0].id, None)
    db.session.commit()
    refused = problem(api.patch(f"{URL}/{opp.id}", headers=with_lang(bearer(world["admin"]), "it"),
                                   json={"type_id": make.flow().id}), 422)
    assert "tipo" in refused["detail"]


def test_a_field_set_by_the_api_fires_its_process_automation(api, world):
    """The demo's shape (tests/test_process_engine.py): filling kWp closes S1, whose on-close opens S2."""
    opp, (s1, s2) = world["own"], world["flow"].substates
    kwp = custom("kwp")
    db.session.add(ProcessAutomation(name="kWp closes S1", custom_field_id=kwp.id, type_id=world["flow"].id,
                                     substate_id=s1.id, active=True))
    add_action(s1, "on_close", "open_substate", substate_id=s2.id)
    open_substate(opp, s1.id, None)
    db.session.commit()
    response = api.put(f"{URL}/{opp.id}/fields/kwp", headers=bearer(world["agent"]), json={"value": "6.5"})
    assert response.status_code == 200, response.data
    assert response.get_json()["value"] == "6.5000"
    assert status_of(opp, s1) == "closed"
    (record,) = [r for r in runs() if r.kind == "process_automation"]
    assert record.status == "succeeded" and record.result["direction"] == "field_closes"
    assert any(r.kind == "open_substate" and r.trigger == "on_close" for r in runs())


def test_fields_through_patch_fire_the_automation_too(api, world):
    opp, s1 = world["own"], world["flow"].substates[0]
    db.session.add(ProcessAutomation(name="Source", system_field="acquisition_source", type_id=world["flow"].id,
                                     substate_id=s1.id, active=True))
    open_substate(opp, s1.id, None)
    db.session.commit()
    response = api.patch(f"{URL}/{opp.id}", headers=bearer(world["admin"]), json={"acquisition_source": "Web"})
    assert response.status_code == 200, response.data
    assert status_of(opp, s1) == "closed"


def test_one_field_read_and_set(api, world):
    opp = world["own"]
    custom("ok", "yes_no")
    custom("elsewhere", types=[world["other"].type if world["other"].type_id != opp.type_id else _flow(world)])
    admin, partner = bearer(world["admin"]), bearer(world["partner"])
    listed = api.get(f"{URL}/{opp.id}/fields", headers=partner).get_json()
    assert [f["key"] for f in listed["items"]] == ["company_name", "contact_person", "acquisition_source", "ok"]
    assert api.get(f"{URL}/{opp.id}/fields/ok", headers=partner).get_json()["value"] is None
    problem(api.get(f"{URL}/{world['other'].id}/fields/ok", headers=partner), 404)
    problem(api.get(f"{URL}/{opp.id}/fields/elsewhere", headers=admin), 404)
    problem(api.get(f"{URL}/{opp.id}/fields/o%00k", headers=admin), 404)
    problem(api.put(f"{URL}/{opp.id}/fields/ok", headers=partner, json={"value": True}), 403)
    problem(api.put(f"{URL}/{opp.id}/fields/ok", headers=bearer(world["admin"], ("read",)),
                       json={"value": True}), 403)
    refused = problem(api.put(f"{URL}/{opp.id}/fields/ok", headers=with_lang(admin, "es"),
                                 json={"value": "maybe"}), 422)
    assert refused["errors"] == {"value": "Elige sí o no."}
    assert count(FieldValue) == 0
    assert api.put(f"{URL}/{opp.id}/fields/ok", headers=admin, json={"value": True}).get_json()["value"] is True
    assert api.put(f"{URL}/{opp.id}/fields/ok", headers=admin, json={"value": None}).get_json()["value"] is None
    assert count(FieldValue) == 0


def _flow(world):
    from tests.factories import Factory

    return Factory().flow()


def test_a_required_field_cannot_be_emptied(api, world):
    custom("must", "text", required=True)
    headers = with_lang(bearer(world["admin"]), "it")
    opp = world["own"]
    assert api.put(f"{URL}/{opp.id}/fields/must", headers=headers, json={"value": "x"}).status_code == 200
    refused = problem(api.put(f"{URL}/{opp.id}/fields/must", headers=headers, json={"value": ""}), 422)
    assert "obbligatorio" in refused["errors"]["value"]
