"""The API's notifications (issue 13): the token user's own only, the unread filter, keyset paging, and
marking read one or all through services.notifications."""

from datetime import datetime, timedelta

import pytest

from extensions import db
from models.base import utcnow
from models.notifications import Notification
from services import notifications as notify_svc
from tests.api_support import bearer as auth
from tests.api_support import forget_locale_per_request, problem


@pytest.fixture(autouse=True)
def _locale(app):
    forget_locale_per_request(app)


@pytest.fixture
def world(make):
    partner, agent = make.partner(), make.user("agent")
    notify_svc.notify([partner.id, agent.id], "assignment", {"opportunity": "Rossi kitchen"}, "/opportunities/1")
    notify_svc.notify([partner.id], "run_failed", {"opportunity": "Rossi kitchen", "error": "550"}, "/opportunities/1")
    notify_svc.notify([partner.id], "supervisor", {}, body="Call the client today")
    db.session.commit()
    mine = notify_svc.of_user(partner).order_by(Notification.id)
    first = db.session.execute(mine).scalars().first()
    first.read_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    return {"partner": partner, "agent": agent, "read": first}


def _list(client, headers, query=""):
    response = client.get(f"/api/v1/notifications?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_own_notifications_newest_first_with_the_unread_filter_and_paging(client, world):
    headers = auth(world["partner"], lang="it")
    body = _list(client, headers)
    assert [n["kind"] for n in body["items"]] == ["supervisor", "run_failed", "assignment"]
    assert body["items"][2]["text"] == "Rossi kitchen è stata assegnata alla tua azienda."  # the reader's language
    assert body["items"][0]["text"] == "Call the client today" and body["items"][2]["read_at"] is not None
    assert [n["kind"] for n in _list(client, headers, "unread=true")["items"]] == ["supervisor", "run_failed"]
    page = _list(client, headers, "limit=2")
    rest = _list(client, headers, f"limit=2&cursor={page['next_cursor']}")
    assert [n["id"] for n in page["items"] + rest["items"]] == [n["id"] for n in body["items"]]
    assert rest["next_cursor"] is None
    # Listing marks nothing read; someone else's are never listed.
    assert notify_svc.unread_count(world["partner"]) == 2
    assert [n["kind"] for n in _list(client, auth(world["agent"]))["items"]] == ["assignment"]


def test_mark_one_read(client, world):
    partner, agent = world["partner"], world["agent"]
    unread = _list(client, auth(partner), "unread=true")["items"][0]
    response = client.post(f"/api/v1/notifications/{unread['id']}/read", headers=auth(partner))
    assert response.status_code == 200 and response.get_json()["read_at"]
    assert notify_svc.unread_count(partner) == 1
    # Reading one already read keeps it as it was.
    again = client.post(f"/api/v1/notifications/{world['read'].id}/read", headers=auth(partner)).get_json()
    # (compared as times: the API may write UTC with or without its offset)
    assert datetime.fromisoformat(again["read_at"]).replace(tzinfo=None) == world["read"].read_at
    # Another user's notification: 404, and it stays unread.
    theirs = _list(client, auth(agent))["items"][0]["id"]
    problem(client.post(f"/api/v1/notifications/{theirs}/read", headers=auth(partner)), 404)
    problem(client.post("/api/v1/notifications/2147483647/read", headers=auth(partner)), 404)
    assert notify_svc.unread_count(agent) == 1
    problem(client.post(f"/api/v1/notifications/{unread['id']}/read", headers=auth(partner, ["read"])), 403)
    assert notify_svc.unread_count(partner) == 1


def test_mark_all_read(client, world):
    partner, agent = world["partner"], world["agent"]
    problem(client.post("/api/v1/notifications/read-all", headers=auth(partner, ["read"])), 403)
    assert notify_svc.unread_count(partner) == 2
    body = client.post("/api/v1/notifications/read-all", headers=auth(partner)).get_json()
    assert body == {"marked": 2, "unread": 0}
    assert _list(client, auth(partner), "unread=true")["items"] == []
    assert notify_svc.unread_count(agent) == 1  # someone else's stay unread
    assert client.post("/api/v1/notifications/read-all", headers=auth(partner)).get_json() == {"marked": 0, "unread": 0}


def test_bad_input(client, world):
    headers = auth(world["partner"])
    problem(client.get("/api/v1/notifications?unread=maybe", headers=headers), 422)
    problem(client.get("/api/v1/notifications?limit=abc", headers=headers), 422)
    problem(client.get("/api/v1/notifications?cursor=%%%", headers=headers), 400)
    assert client.get("/api/v1/notifications").status_code == 401
