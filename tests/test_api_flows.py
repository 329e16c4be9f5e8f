"""The API's flows, read only (issue 13): opportunity types, and one type's states, substates, actions and
triggers as the designer shows them — internal users only (partners 404, as the designer)."""

import pytest
from sqlalchemy import select

from extensions import db
from models import OpportunityType
from tests.api_support import bearer as auth
from tests.api_support import forget_locale_per_request, problem
from tests.engine_support import add_action


@pytest.fixture(autouse=True)
def _locale(app):
    forget_locale_per_request(app)


@pytest.fixture
def world(make):
    flow = make.flow((1, 2), name="Solar")
    other = make.flow((1,), name="Heat pumps")
    s1, s2, s3 = flow.substates
    s1.name_i18n = {"it": "Contatto iniziale"}
    channel = make.channel("Web")
    add_action(s1, "on_open", "open_substate", substate_id=s2.id)
    late = add_action(s2, "scheduled", "open_substate", delay=(2, "days"), channels=[channel], substate_id=s3.id)
    late.enabled = False
    add_action(s2, "on_close", "close_substate", substate_id=s1.id)
    from models import Trigger

    db.session.add(Trigger(substate_id=s3.id, kind="task_status", name="Quote done", enabled=True, allow_back=True,
                           config={"status": "completed"}))
    db.session.commit()
    return {"flow": flow, "other": other, "channel": channel, "late": late}


def test_types_list_with_paging(client, make, world):
    headers = auth(make.user("agent"))
    first = client.get("/api/v1/types?limit=1", headers=headers).get_json()
    assert [t["name"] for t in first["items"]] == ["Heat pumps"] and first["next_cursor"]
    second = client.get(f"/api/v1/types?limit=1&cursor={first['next_cursor']}", headers=headers).get_json()
    assert second == {"items": [{"id": world["flow"].id, "name": "Solar", "archived": False}], "next_cursor": None}


def test_a_type_with_its_states_substates_actions_and_triggers(client, make, world):
    flow = world["flow"]
    body = client.get(f"/api/v1/types/{flow.id}", headers=auth(make.user("admin"), lang="it")).get_json()
    assert body["name"] == "Solar" and [len(s["substates"]) for s in body["states"]] == [1, 2]
    s1, s2, s3 = [sub for state in body["states"] for sub in state["substates"]]
    assert s1["name"] == "Contatto iniziale"  # the name in the request's language
    (opening,) = s1["actions"]
    assert opening["kind"] == "open_substate" and opening["when"] == "on_open" and opening["delay"] is None
    assert opening["enabled"] is True and opening["channel_ids"] == []
    scheduled, closing = s2["actions"] if s2["actions"][0]["when"] == "scheduled" else s2["actions"][::-1]
    assert scheduled["delay"] == {"amount": 2, "unit": "days"} and scheduled["enabled"] is False
    assert scheduled["channel_ids"] == [world["channel"].id] and closing["when"] == "on_close"
    assert s3["actions"] == [] and [(t["name"], t["kind"], t["allow_back"]) for t in s3["triggers"]] == [
        ("Quote done", "task_status", True)]
    assert opening["kind_label"] and s3["triggers"][0]["kind_label"]


def test_partners_get_404_as_in_the_designer(client, make, world):
    partner = make.partner()
    headers = auth(partner, lang="es")
    body = problem(client.get("/api/v1/types", headers=headers), 404)
    assert "encontrad" in body["title"]  # in Spanish
    problem(client.get(f"/api/v1/types/{world['flow'].id}", headers=headers), 404)


def test_unknown_type_and_bad_input(client, make, world):
    headers = auth(make.user("manager"))
    problem(client.get("/api/v1/types/2147483647", headers=headers), 404)
    problem(client.get("/api/v1/types?limit=1000", headers=headers), 422)
    problem(client.get("/api/v1/types?cursor=zzz", headers=headers), 400)
    assert client.post("/api/v1/types", headers=headers).status_code == 405  # read only
    assert db.session.execute(select(OpportunityType.id)).all()
