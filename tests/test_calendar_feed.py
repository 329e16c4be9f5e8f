"""The personal iCalendar feed (issue 11, item 7): a secret address made, shown, renewed and revoked from
the calendar page; the public .ics read back with the icalendar library (events, times, attendees);
scoping to what the user may see now; the window; rate limit; key rotation."""

import hashlib
import re
from datetime import UTC, timedelta

import pytest
from flask_babel import force_locale, gettext
from icalendar import Calendar
from sqlalchemy import select

from extensions import db
from models import CalendarFeed, Location
from models.base import utcnow
from services import secrets as secret_store
from tests.calendar_support import scheduled, task


def feed_path(client) -> str:
    """Make (or renew) the logged-in user's address from the page's button; its path."""
    response = client.post("/calendar/feed")
    assert response.status_code == 302 and response.location.endswith("/calendar#calendar-feed")
    body = client.get("/calendar").get_data(as_text=True)
    url = re.search(r'<input type="text" id="calendar-feed-url" value="([^"]+)" readonly', body).group(1)
    assert url.startswith("http://127.0.0.1:5000/calendar/feed/") and url.endswith(".ics")  # PUBLIC_URL
    return url.removeprefix("http://127.0.0.1:5000")


def read(client, path: str) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/calendar" and response.headers["Cache-Control"] == "private, no-store"
    return Calendar.from_ical(response.data)


def events(ics: Calendar) -> dict[str, object]:
    return {str(e["summary"]): e for e in ics.walk("VEVENT")}


def emails(value) -> set[str]:
    values = value if isinstance(value, list) else [value] if value else []
    return {str(v).removeprefix("mailto:") for v in values}


@pytest.fixture
def world(make):
    flow = make.flow((1,))
    customer = make.customer(name="Maria Bianchi", email="maria@example.net")
    opp = make.opportunity(flow, name="Villa Rossi", customer=customer)
    owner = make.user("agent", name="Olga Owner", email="olga@example.com", language="it")
    guest = make.user("agent", name="Gino Guest", email="gino@example.com")
    return {"flow": flow, "opp": opp, "owner": owner, "guest": guest}


def it_(msgid: str) -> str:
    """The owner's (Italian) words for a page text."""
    with force_locale("it"):
        return gettext(msgid)


def test_address_is_made_shown_and_stored_only_hashed_and_encrypted(client, world):
    client.login(world["owner"])
    body = client.get("/calendar").get_data(as_text=True)
    assert it_("Subscribe from another calendar") in body and it_("Create my calendar address") in body
    assert 'id="calendar-feed-url"' not in body
    path = feed_path(client)
    token = path.removeprefix("/calendar/feed/").removesuffix(".ics")
    row = db.session.execute(select(CalendarFeed)).scalar_one()
    assert row.user_id == world["owner"].id and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_encrypted and secret_store.decrypt(row.token_encrypted) == token
    body = client.get("/calendar").get_data(as_text=True)
    assert it_("New address") in body and it_("Stop sharing") in body and 'data-copy="calendar-feed-url"' in body
    assert it_("No calendar has read it yet.") in body


def test_feed_holds_activities_with_times_place_link_and_attendees(client, make, world):
    owner, guest = world["owner"], world["guest"]
    due = (utcnow() + timedelta(days=3)).replace(microsecond=0, second=0)
    room = Location(name="Sala riunioni", name_i18n={}, address="Via Roma 1, Milano")
    db.session.add(room)
    db.session.commit()
    activity = scheduled(make, world["opp"], owner, due,
                         "Sopralluogo", invitees=[guest], duration_minutes=45, include_client=True,
                         location_id=room.id, address="Cantiere, Via Verdi 2", link="https://meet.example/abc",
                         description="Portare il metro")
    scheduled(make, world["opp"], owner, due + timedelta(hours=5), "Senza cliente", duration_minutes=None)
    client.login(owner)
    ics = read(client, feed_path(client))
    assert str(ics["x-wr-calname"]) == "oppflow · Olga Owner" and str(ics["x-wr-timezone"]) == "Europe/Rome"
    found = events(ics)
    event = found["Sopralluogo"]
    assert str(event["uid"]) == f"activity-{activity.id}@127.0.0.1"
    assert event.decoded("dtstart") == due.replace(tzinfo=UTC)
    assert event.decoded("dtend") == due.replace(tzinfo=UTC) + timedelta(minutes=45)
    assert str(event["location"]) == "Sala riunioni, Via Roma 1, Milano, Cantiere, Via Verdi 2"
    assert str(event["url"]) == "https://meet.example/abc"
    description = str(event["description"])
    assert "Portare il metro" in description and "Villa Rossi" in description
    assert f"http://127.0.0.1:5000/opportunities/{world['opp'].id}" in description
    assert emails(event["organizer"]) == {"olga@example.com"}
    assert emails(event.get("attendee")) == {"gino@example.com", "maria@example.net"}
    assert int(event["sequence"]) == 0 and event.decoded("last-modified")
    plain = found["Senza cliente"]
    assert plain.decoded("dtend") - plain.decoded("dtstart") == timedelta(minutes=30)  # no duration: half an hour
    assert emails(plain.get("attendee")) == set()  # the client only when asked for
    assert str(plain["url"]) == f"http://127.0.0.1:5000/opportunities/{world['opp'].id}"
    assert db.session.execute(select(CalendarFeed)).scalar_one().last_used_at is not None


def test_invitee_sees_the_event_in_their_own_feed(client, make, world):
    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    scheduled(make, world["opp"], world["owner"], due, "Riunione", invitees=[world["guest"]])
    client.login(world["guest"])
    event = events(read(client, feed_path(client)))["Riunione"]
    assert emails(event["organizer"]) == {"olga@example.com"} and emails(event["attendee"]) == {"gino@example.com"}


def test_task_deadlines_are_events_at_the_deadline_in_the_users_language(client, world):
    owner = world["owner"]  # Italian
    now = utcnow().replace(microsecond=0)
    late = task(world["opp"], owner, now - timedelta(days=1), "Prepara il progetto")
    task(world["opp"], world["guest"], now + timedelta(days=2), "Da seguire", participants=[owner])
    task(world["opp"], world["guest"], now + timedelta(days=2), "Solo osservato", observers=[owner])
    client.login(owner)
    found = events(read(client, feed_path(client)))
    with force_locale("it"):  # the owner's language, whatever the catalogs hold today
        late_title = f"{gettext('Deadline: %(title)s', title='Prepara il progetto')} ({gettext('Overdue')})"
        joined_title = gettext("Deadline: %(title)s", title="Da seguire")
    assert set(found) == {late_title, joined_title}
    event = next(e for s, e in found.items() if "Prepara" in s)
    assert str(event["uid"]) == f"task-{late.id}@127.0.0.1"
    assert event.decoded("dtstart") == (now - timedelta(days=1)).replace(tzinfo=UTC)
    assert str(event["transp"]) == "TRANSPARENT"
    assert str(event["url"]) == f"http://127.0.0.1:5000/tasks/{late.id}"


def test_window_is_two_months_back_to_a_year_ahead(client, make, world):
    owner, now = world["owner"], utcnow()
    for name, offset in (("Old", -70), ("Recent", -50), ("Soon", 300), ("Far", 400)):
        scheduled(make, world["opp"], owner, now + timedelta(days=offset), name)
    client.login(owner)
    assert set(events(read(client, feed_path(client)))) == {"Recent", "Soon"}


def test_partner_feed_shows_only_what_the_partner_may_see_now(client, make, world):
    mine, theirs = make.company("installer"), make.company("installer")
    partner = make.user("partner", company=mine)
    own = make.opportunity(world["flow"], name="Our deal", installer=mine)
    foreign = make.opportunity(world["flow"], name="Their deal", installer=theirs)
    due = utcnow() + timedelta(days=2)
    scheduled(make, own, partner, due, "Own visit")
    scheduled(make, foreign, partner, due, "Foreign visit")
    scheduled(make, foreign, world["owner"], due, "Foreign invite", invitees=[partner])
    task(foreign, partner, due, "Foreign task")
    client.login(partner)
    path = feed_path(client)
    body = client.get(path).get_data(as_text=True)
    assert set(events(Calendar.from_ical(body))) == {"Own visit"} and "Their deal" not in body
    own.installer_id = theirs.id  # moved off the opportunity
    db.session.commit()
    assert events(read(client, path)) == {}


def test_new_address_stops_the_old_and_stop_sharing_stops_both(client, world):
    client.login(world["owner"])
    first = feed_path(client)
    second = feed_path(client)
    assert first != second
    anonymous = client.application.test_client()
    assert anonymous.get(first).status_code == 404 and anonymous.get(second).status_code == 200
    assert client.post("/calendar/feed/stop").status_code == 302
    assert anonymous.get(second).status_code == 404
    assert db.session.execute(select(CalendarFeed)).first() is None
    assert it_("Create my calendar address") in client.get("/calendar").get_data(as_text=True)
    # Stopping again changes nothing and says so.
    client.post("/calendar/feed/stop")
    assert it_("Your calendar is not shared.") in client.get("/calendar").get_data(as_text=True)


@pytest.mark.parametrize("token", ["x", "a" * 43, "a" * 200, "%00" * 20, "..%2F..%2Fetc"])
def test_unknown_tokens_are_404_without_login(client, world, token):
    client.login(world["owner"])
    feed_path(client)
    assert client.application.test_client().get(f"/calendar/feed/{token}.ics").status_code == 404


def test_a_deactivated_users_feed_stops(client, world):
    client.login(world["owner"])
    path = feed_path(client)
    world["owner"].active = False
    db.session.commit()
    assert client.application.test_client().get(path).status_code == 404


def test_posts_need_a_login_and_the_csrf_token(client, world):
    assert client.post("/calendar/feed").status_code == 302  # to the login page
    client.login(world["owner"])
    assert client.post("/calendar/feed", csrf=False).status_code == 400
    assert client.post("/calendar/feed/stop", csrf=False).status_code == 400
    assert db.session.execute(select(CalendarFeed)).first() is None


def test_feed_is_rate_limited(app, client, world):
    app.config["CALENDAR_FEED_RATE_LIMIT"] = "3 per minute"
    client.login(world["owner"])
    path = feed_path(client)
    assert [client.get(path).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_key_rotation_covers_the_feed_token(app, client, world):
    client.login(world["owner"])
    path = feed_path(client)
    assert (CalendarFeed, "token_encrypted") in secret_store.ENCRYPTED
    before = db.session.execute(select(CalendarFeed)).scalar_one().token_encrypted
    app.config["ENCRYPTION_KEYS"] = secret_store.generate_key() + "," + app.config["ENCRYPTION_KEYS"]
    assert secret_store.rotate_all() >= 1
    db.session.commit()
    row = db.session.execute(select(CalendarFeed)).scalar_one()
    assert row.token_encrypted != before
    assert f'value="http://127.0.0.1:5000{path}"' in client.get("/calendar").get_data(as_text=True)
