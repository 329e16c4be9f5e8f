"""Designer pages and htmx endpoints: whole page vs fragment, 422 with the same form and its messages,
board order, panels, and what a read-only user sees."""

import re

import pytest

from extensions import db
from models import OpportunityType, State, Substate

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def manager(client, make):
    user = make.user("manager")
    client.login(user)
    return user


def test_settings_home_has_the_designer_tile(client, make):
    client.login(make.user("agent"))
    assert f'href="{T}/"' in text(client.get("/settings/"))
    assert "Opportunity types and processes" in text(client.get("/settings/"))


def test_index_lists_types_and_creates_one(client, manager, make):
    make.flow((1,), name="Photovoltaic installation")
    page = text(client.get(f"{T}/"))
    assert "Photovoltaic installation" in page and "New opportunity type" in page
    response = client.post(f"{T}/", data={"name": "Heat pumps", "name_it": "Pompe di calore"})
    assert response.status_code == 302
    created = db.session.execute(db.select(OpportunityType).filter_by(name="Heat pumps")).scalar_one()
    assert response.location.endswith(f"{T}/{created.id}") and created.name_i18n == {"it": "Pompe di calore"}
    response = client.post(f"{T}/", data={"name": "heat PUMPS"})
    assert response.status_code == 422 and "There is already an opportunity type named" in text(response)
    assert 'value="heat PUMPS"' in text(response)


def test_type_page_is_whole_and_the_board_comes_alone_for_htmx(client, manager, make):
    t = make.flow((2, 1))
    page = text(client.get(f"{T}/{t.id}"))
    assert page.startswith("<!doctype html>") and 'id="board"' in page and 'id="panel"' in page
    assert page.count('name="order" value="state:') == 2 and page.count('name="order" value="substate:') == 3
    board = text(client.htmx("GET", f"{T}/{t.id}", headers={"HX-Target": "board"}))
    assert board.lstrip().startswith('<div id="board"') and "<html" not in board
    assert 'hx-trigger="flow-changed from:body"' in board


def test_substate_panel_is_bookmarkable(client, manager, make):
    t = make.flow((2,))
    sub = t.substates[1]
    url = f"{T}/{t.id}/substates/{sub.id}"
    fragment = text(client.htmx("GET", url))
    assert fragment.lstrip().startswith('<aside id="panel"') and "Substate 1.2" in fragment
    for group in ("Actions on open", "Actions on close", "Scheduled actions"):
        assert group in fragment
    whole = text(client.get(url))
    assert "<!doctype html>" in whole and 'id="board"' in whole and "Actions on open" in whole
    assert f'data-selected="{sub.id}"' in whole
    restored = text(client.htmx("GET", url, headers={"HX-History-Restore-Request": "true"}))
    assert "<!doctype html>" in restored
    for tab, words in [("triggers", "No triggers."), ("settings", 'name="name"'),
                       ("nonsense", "Actions on open")]:
        assert words in text(client.htmx("GET", f"{url}?tab={tab}"))


def test_read_only_users_see_no_controls(client, make):
    t = make.flow((2,))
    make.action(t.substates[0], config={"substate_id": t.substates[1].id})
    client.login(make.user("agent"))
    page = text(client.get(f"{T}/{t.id}/substates/{t.substates[0].id}"))
    assert "Read only" in page and "Open substate" in page
    for control in ("sortable", "Add action", "Add substate", "Add state", "hx-post", "Delete"):
        assert control not in page, control
    assert "hx-post" not in text(client.get(f"{T}/{t.id}/settings"))


def test_board_order_saves_a_drag_between_states(client, manager, make):
    t = make.flow((2, 1))
    s1, s2 = t.states
    a, b = s1.substates
    (c,) = s2.substates
    order = [f"state:{s2.id}", f"substate:{c.id}", f"substate:{a.id}", f"state:{s1.id}", f"substate:{b.id}"]
    response = client.htmx("POST", f"{T}/{t.id}/order", data={"order": order})
    assert response.status_code == 200 and text(response).lstrip().startswith('<div id="board"')
    assert re.findall(r'value="((?:state|substate):\d+)"', text(response)) == order
    assert fresh(Substate, a.id).state_id == s2.id and fresh(State, s2.id).position == 0


def test_a_stale_board_comes_back_as_saved_with_a_message(client, manager, make):
    t = make.flow((2,))
    s = t.states[0]
    response = client.htmx("POST", f"{T}/{t.id}/order", data={"order": [f"state:{s.id}", f"substate:{t.substates[0].id}"]})
    assert response.status_code == 422
    assert "The flow was changed meanwhile" in text(response)
    assert text(response).count('value="substate:') == 2
    response = client.htmx("POST", f"{T}/{t.id}/order", data={"order": ["garbage"]})
    assert response.status_code == 422 and "could not be read" in text(response)


def test_move_buttons(client, manager, make):
    t = make.flow((1, 1))
    s1, s2 = t.states
    sub = s1.substates[0]
    response = client.htmx("POST", f"{T}/{t.id}/substates/{sub.id}/move", data={"delta": "1"})
    assert response.status_code == 200 and fresh(Substate, sub.id).state_id == s2.id
    response = client.htmx("POST", f"{T}/{t.id}/states/{s2.id}/move", data={"delta": "-1"})
    assert response.status_code == 200 and fresh(State, s2.id).position == 0


def test_add_rename_archive_and_delete_a_state_in_the_panel(client, manager, make):
    t = make.flow((1,))
    form = text(client.htmx("GET", f"{T}/{t.id}/states/new"))
    assert 'name="name"' in form and "Add state" in form
    response = client.htmx("POST", f"{T}/{t.id}/states/new", data={"name": ""})
    assert response.status_code == 422 and "Enter a name." in text(response) and 'id="panel"' in text(response)
    response = client.htmx("POST", f"{T}/{t.id}/states/new", data={"name": "Contract", "name_es": "Contrato"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "flow-changed"
    state = db.session.execute(db.select(State).filter_by(name="Contract")).scalar_one()
    assert response.headers["HX-Push-Url"] == f"{T}/{t.id}/states/{state.id}" and state.position == 1
    response = client.htmx("POST", f"{T}/{t.id}/states/{state.id}", data={"name": "Contracts"})
    assert response.status_code == 200 and fresh(State, state.id).name == "Contracts"
    client.htmx("POST", f"{T}/{t.id}/states/{state.id}/archive", data={"archived": "1"})
    assert fresh(State, state.id).archived
    response = client.htmx("POST", f"{T}/{t.id}/states/{state.id}/delete")
    assert response.status_code == 200 and fresh(State, state.id) is None
    assert "The state was deleted." in text(response)


def test_add_and_edit_a_substate_in_the_panel(client, manager, make):
    t = make.flow((1,))
    state = t.states[0]
    response = client.htmx("POST", f"{T}/{t.id}/states/{state.id}/substates/new",
                           data={"name": "Pending documentation", "name_it": "Documentazione in sospeso"})
    sub = db.session.execute(db.select(Substate).filter_by(name="Pending documentation")).scalar_one()
    assert response.status_code == 200 and response.headers["HX-Push-Url"].endswith(f"/substates/{sub.id}")
    assert "Automatic actions" in text(response)
    response = client.htmx("POST", f"{T}/{t.id}/substates/{sub.id}", data={"name": "Substate 1.1"})
    assert response.status_code == 422 and "already a substate" in text(response)
    assert 'value="Substate 1.1"' in text(response)
    response = client.htmx("POST", f"{T}/{t.id}/substates/{sub.id}", data={"name": "Docs", "partner_can_act": "y"})
    assert response.status_code == 200 and "Saved." in text(response)
    assert fresh(Substate, sub.id).partner_can_act and fresh(Substate, sub.id).name_i18n == {}


def test_deleting_a_used_substate_is_refused_with_the_reason(client, manager, make):
    t = make.flow((2,))
    opp = make.opportunity(t)
    client.post(f"/opportunities/{opp.id}/substates/{t.substates[0].id}/open")
    response = client.htmx("POST", f"{T}/{t.id}/substates/{t.substates[0].id}/delete")
    assert response.status_code == 409 and "Archive it instead" in text(response)
    response = client.htmx("POST", f"{T}/{t.id}/delete")
    assert response.status_code == 409 and "opportunities use it" in text(response)


def test_type_settings_rename_archive_delete(client, manager, make):
    t = make.flow((1,))
    response = client.htmx("POST", f"{T}/{t.id}/settings", data={"name": ""})
    assert response.status_code == 422 and "Enter a name." in text(response)
    assert client.htmx("POST", f"{T}/{t.id}/settings", data={"name": "PV"}).status_code == 200
    client.htmx("POST", f"{T}/{t.id}/archive", data={"archived": "1"})
    assert fresh(OpportunityType, t.id).archived and "Restore" in text(client.get(f"{T}/{t.id}/settings"))
    response = client.htmx("POST", f"{T}/{t.id}/delete")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"{T}/"
    assert fresh(OpportunityType, t.id) is None


def test_flow_map_page_and_the_panels_loop_warning(client, manager, make):
    t = make.flow((2,))
    a, b = t.substates
    make.action(a, "open_substate", "on_close", {"substate_id": b.id})
    make.action(b, "close_substate", "scheduled", {"substate_id": b.id}, delay_amount=4, delay_unit="days")
    make.action(b, "open_substate", "on_close", {"substate_id": b.id})
    page = text(client.get(f"{T}/{t.id}/map"))
    assert "<svg" in page and page.count('class="fm-node') == 2 and page.count('class="fm-edge') == 3
    assert "1 loop could repeat by itself" in page and "after 4 days" in page
    assert "loop could repeat" not in text(client.get(f"{T}/{make.flow((1,)).id}/map"))
    panel = text(client.htmx("GET", f"{T}/{t.id}/substates/{b.id}"))
    assert "can open and close each other in a loop" in panel and f"{T}/{t.id}/map" in panel
    assert "in a loop" not in text(client.htmx("GET", f"{T}/{t.id}/substates/{a.id}"))
    assert "Loop" in text(client.get(f"{T}/{t.id}"))
