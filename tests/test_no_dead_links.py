"""No link leads to a 403: for every role, every page the role can open (the whole URL map, walked with
real ids) and every fragment an htmx select swaps in (the action kinds' fields and their missing-
prerequisite notes), each internal <a href> and hx-get answers that same role with something other than 403.
A page the role may not open must not be offered as a link (name who can instead, or hide it)."""

from urllib.parse import urlsplit

import pytest

from tests.walk_support import build_url, read_page, seed


def _pages(app, client, world):
    """{url: reader} for every page and swapped-in fragment the logged-in user can open."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = build_url(rule, world)
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[url] = read_page(response.get_data(as_text=True), url)
    for reader in list(pages.values()):
        for target in reader.targets.values():
            for driver in [f for f in target.fields.values() if f.kind == "select" and f.hx_get]:
                for option in [o for o in driver.options if o]:
                    url = f"{driver.hx_get}?{driver.name}={option}"
                    response = client.get(driver.hx_get, query_string={driver.name: option},
                                          headers={"HX-Request": "true"})
                    if response.status_code == 200:
                        pages[url] = read_page(response.get_data(as_text=True), url)
    return pages


def _internal(link: str) -> bool:
    parts = urlsplit(link)
    return not parts.scheme and not parts.netloc and parts.path.startswith("/") and "/static/" not in parts.path


@pytest.mark.parametrize("role", ["admin", "manager", "agent", "partner"])
def test_no_link_answers_403_to_the_role_it_is_shown_to(app, client, make, role):
    world = seed(make)
    client.login(world.users[role])
    pages = _pages(app, client, world)
    assert len(pages) >= 3
    forbidden, checked = [], {}
    for page, reader in pages.items():
        for link in sorted(filter(_internal, reader.links)):
            if link not in checked:
                checked[link] = client.get(link).status_code
            if checked[link] == 403:
                forbidden.append(f"{page} links to {link} (403)")
    assert not forbidden, "\n".join(sorted(set(forbidden)))
    assert len(checked) >= 5


def test_manager_is_told_who_sets_up_assignment_criteria(app, client, make):
    """The action form's note names the administrator instead of linking a page the manager cannot open."""
    world = seed(make)
    from extensions import db
    from models import AssignmentRule

    db.session.execute(db.delete(AssignmentRule))  # the assign kinds now lack their prerequisite
    db.session.commit()
    client.login(world.users["manager"])
    url = f"/settings/types/{world.ids['type_id']}/substates/{world.ids['substate_id']}/actions/kind-fields"
    body = client.get(url, query_string={"kind": "assign_installer"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "An administrator sets it up in Settings → Assignment criteria." in body
    assert 'href="/settings/assignment-criteria"' not in body
    client.post("/logout")
    client.login(world.users["admin"])
    body = client.get(url, query_string={"kind": "assign_installer"}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'href="/settings/assignment-criteria"' in body
