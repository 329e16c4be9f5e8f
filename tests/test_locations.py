"""Settings → Locations (M5): access, CSRF, create/rename with translations and address, duplicate names,
deactivate (no longer offered to "Schedule activity"), and the settings index links to it."""

import pytest
from sqlalchemy import func, select

from engine.kinds import get_kind
from extensions import db
from models import Location


def fresh(record_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Location, record_id)


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Location))


def location(name="Meeting room", address="Via Roma 1, Milano", active=True):
    loc = Location(name=name, name_i18n={}, address=address, active=active)
    db.session.add(loc)
    db.session.commit()
    return loc


ROUTES = [("GET", "/settings/locations"), ("POST", "/settings/locations/new"),
          ("GET", "/settings/locations/{id}"), ("POST", "/settings/locations/{id}"),
          ("POST", "/settings/locations/{id}/activate"), ("POST", "/settings/locations/{id}/deactivate")]


def test_admin_opens_the_pages_and_the_index_links_them(client, admin):
    loc = location()
    for method, url in ROUTES:
        if method == "GET":
            assert client.get(url.format(id=loc.id)).status_code == 200
    assert 'href="/settings/locations"' in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("manager", 403), ("agent", 403), ("partner", 404)])
def test_others_are_refused_and_nothing_changes(client, make, method, url, role, status):
    loc = location()
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=loc.id), method=method, data={"name": "Changed", "address": "x"})
    assert response.status_code == status
    after = fresh(loc.id)
    assert (after.name, after.address, after.active, count()) == ("Meeting room", "Via Roma 1, Milano", True, 1)


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "POST"])
def test_posts_without_csrf_are_refused(client, admin, method, url):
    loc = location()
    assert client.post(url.format(id=loc.id), data={"name": "X"}, csrf=False).status_code == 400
    assert fresh(loc.id).name == "Meeting room" and count() == 1


@pytest.mark.parametrize("suffix", ["", "/activate", "/deactivate"])
def test_unknown_location_is_404(client, admin, suffix):
    assert client.post(f"/settings/locations/9999{suffix}", data={"name": "x"}).status_code == 404


def test_create_with_translations_and_address(client, admin):
    response = client.post("/settings/locations/new", data={
        "name": "Showroom", "name_it": "Sala espositiva", "name_es": "Sala de exposición", "name_en": "",
        "address": "  Corso Buenos Aires 5, Milano  "})
    assert response.status_code == 302 and response.location == "/settings/locations"
    created = db.session.execute(select(Location)).scalar_one()
    assert created.active and created.address == "Corso Buenos Aires 5, Milano"
    assert created.name_i18n == {"it": "Sala espositiva", "es": "Sala de exposición"}
    page = client.get("/settings/locations").get_data(as_text=True)
    assert "Showroom" in page and "Sala espositiva" in page and "Corso Buenos Aires 5, Milano" in page


@pytest.mark.parametrize("data,message", [
    ({"name": ""}, "Enter a name."),
    ({"name": "x" * 121}, "At most 120 characters."),
    ({"name": "MEETING ROOM"}, "Another location already has this name."),
    ({"name": "Garage", "address": "y" * 301}, "At most 300 characters."),
])
def test_create_refuses_bad_input_with_422(client, admin, data, message):
    location()
    response = client.post("/settings/locations/new", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count() == 1


def test_rename_change_address_and_duplicates(client, admin):
    room, _show = location(), location("Showroom")
    url = f"/settings/locations/{room.id}"
    response = client.post(url, data={"name": "showroom"})
    assert response.status_code == 422 and "Another location already has this name." in response.get_data(True)
    assert fresh(room.id).name == "Meeting room"
    assert client.post(url, data={"name": "Big room", "name_it": "Sala grande", "address": "Via Po 2"}).status_code == 302
    renamed = fresh(room.id)
    assert (renamed.name, renamed.name_i18n, renamed.address) == ("Big room", {"it": "Sala grande"}, "Via Po 2")
    page = client.get(url).get_data(as_text=True)
    assert 'value="Sala grande"' in page and 'value="Via Po 2"' in page


def test_deactivated_location_is_no_longer_offered_to_schedule_activity(client, admin, make):
    room, garage = location(), location("Garage")
    response = client.htmx("POST", f"/settings/locations/{room.id}/deactivate")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="location-{room.id}"')
    assert "Activate" in body and not fresh(room.id).active
    flow = make.flow((1,))
    form = get_kind("schedule_activity").build_form(flow.substates[0])
    offered = {c.value for c in form.location_id.choices}
    assert garage.id in offered and room.id not in offered
    assert client.post(f"/settings/locations/{room.id}/activate").status_code == 302
    assert fresh(room.id).active
