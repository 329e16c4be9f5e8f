"""Kept pages (blueprints/page_cache.py): a page read again while nothing changed is served without being
queried and rendered again, and never once anything it shows has changed, whoever changed it, nor to
another session, user, language or htmx target."""

import re
import subprocess
import sys
import time

import pytest
from flask import g
from sqlalchemy import event, select

from blueprints import page_cache
from blueprints.page_cache import _Page, _Store, data_version
from extensions import db
from models import Opportunity
from tests.conftest import ROOT


@pytest.fixture
def statements(app):
    """How many statements the requests send (reset by the test)."""
    count = [0]

    def counted(*_args):
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    yield count
    event.remove(db.engine, "before_cursor_execute", counted)


def fresh_g() -> None:
    """The test's app context serves every request, and with it `g`: each request loads its own user,
    locale and CSRF token, as each of a server's requests does."""
    for name in ("_login_user", "_flask_babel", "csrf_token"):
        g.pop(name, None)


def get(client, url, **kwargs):
    fresh_g()
    return client.get(url, **kwargs)


def token(body: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', body).group(1).decode()


def test_a_page_read_again_unchanged_is_not_queried_again(client, admin, make, statements):
    make.opportunity(name="Rooftop in Bergamo")
    get(client, "/opportunities")  # the session's first page makes its CSRF token: a session change, not kept
    # PostgreSQL's version is the server's: another test process writing in its own schema changes it too.
    # Tried until nothing was written anywhere from before the first read to after the second.
    for _attempt in range(100):
        before = data_version()
        first = get(client, "/opportunities")
        statements[0] = 0
        again = get(client, "/opportunities")
        sent = statements[0]
        if data_version() == before:
            break
    else:
        pytest.fail("the database never stayed unchanged for two requests")
    assert again.status_code == 200 and again.data == first.data
    # The session's user and the data version, nothing of the list (it sends 14 statements).
    assert sent <= 2
    assert b"Rooftop in Bergamo" in again.data


def test_a_change_another_process_commits_shows_at_once(app, client, admin, make):
    opp = make.opportunity(name="Rooftop in Bergamo")
    assert b"Rooftop in Bergamo" in get(client, f"/opportunities/{opp.id}").data
    assert b"Rooftop in Bergamo" in get(client, "/opportunities").data  # kept now
    # Another process writes, as a worker or a second web process does.
    script = ("import sys; from sqlalchemy import create_engine, text\n"
              "with create_engine(sys.argv[1]).begin() as c:\n"
              "    c.execute(text('UPDATE opportunity SET name = :n WHERE id = :i'), {'n': 'Barn in Lecco', 'i': int(sys.argv[2])})\n")
    subprocess.run([sys.executable, "-c", script, app.config["SQLALCHEMY_DATABASE_URI"], str(opp.id)],
                   cwd=ROOT, check=True, timeout=60)
    db.session.expire_all()  # the test's session serves the requests: it forgets what it read, as a new request's does
    for url in ("/opportunities", f"/opportunities/{opp.id}"):
        body = get(client, url).data
        assert b"Barn in Lecco" in body and b"Rooftop in Bergamo" not in body


def test_pages_are_kept_per_session_and_user(app, client, admin, make):
    mine = make.partner()
    make.opportunity(name="Nobody's deal")
    admin_page = get(client, "/opportunities").data
    assert b"Nobody&#39;s deal" in admin_page
    partner = app.test_client()
    partner.environ_base["REMOTE_ADDR"] = "127.9.9.9"
    fresh_g()
    partner.login(mine)
    partner_page = get(partner, "/opportunities").data
    assert b"Nobody&#39;s deal" not in partner_page
    # The same user in a second browser: a page of its own, whose CSRF token this browser's session accepts.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.9.9.8"
    fresh_g()
    other.login(admin)
    other_page = get(other, "/opportunities").data
    assert token(other_page) != token(admin_page)
    fresh_g()
    answer = other.post("/language", data={"lang": "en", "csrf_token": token(other_page), "next": "/opportunities"})
    assert answer.status_code == 302


def test_a_flash_is_shown_once_and_the_page_after_it_is_current(client, admin, make):
    opp = make.opportunity(name="Rooftop in Bergamo")
    get(client, f"/opportunities/{opp.id}")
    with client.session_transaction() as sess:
        sess["_flashes"] = [("success", "Saved, as a form would say.")]
    assert b"Saved, as a form would say." in get(client, f"/opportunities/{opp.id}").data
    assert b"Saved, as a form would say." not in get(client, f"/opportunities/{opp.id}").data


def test_language_and_htmx_fragment_are_pages_of_their_own(client, admin, make):
    make.opportunity(name="Rooftop in Bergamo")
    english = get(client, "/opportunities").data
    fragment = get(client, "/opportunities", headers={"HX-Request": "true", "HX-Target": "opp-table"}).data
    assert b"<html" in english and b"<html" not in fragment and b"Rooftop in Bergamo" in fragment
    assert b"<html" in get(client, "/opportunities").data
    fresh_g()
    client.post("/language", data={"lang": "it", "next": "/opportunities"})
    italian = get(client, "/opportunities").data
    assert b'<html lang="it">' in italian and b'<html lang="en">' in english


def test_a_session_ended_elsewhere_gets_no_kept_page(app, client, admin, make):
    make.opportunity(name="Rooftop in Bergamo")
    assert get(client, "/opportunities").status_code == 200
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.9.9.7"
    fresh_g()
    other.login(admin)
    fresh_g()
    assert other.post("/account/sessions/end-all").status_code == 302
    answer = get(client, "/opportunities")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_partner_losing_an_opportunity_no_longer_sees_it(app, client, make):
    company = make.company("installer")
    user = make.user("partner", company=company)
    opp = make.opportunity(name="Rooftop in Bergamo", installer=company)
    client.login(user)
    assert get(client, f"/opportunities/{opp.id}").status_code == 200
    assert b"Rooftop in Bergamo" in get(client, "/opportunities").data
    db.session.get(Opportunity, opp.id).installer_id = None
    db.session.commit()
    assert get(client, f"/opportunities/{opp.id}").status_code == 404
    assert b"Rooftop in Bergamo" not in get(client, "/opportunities").data


def test_kept_pages_stay_within_their_memory_bound():
    store = _Store()
    limit = 100_000
    for i in range(50):
        store.put(str(i).encode(), _Page("v1", b"x" * 10_000, []), limit)
    assert store.size <= limit and len(store.pages) == 10
    assert store.get(b"49", "v1") is not None and store.get(b"0", "v1") is None  # the oldest went first
    assert store.get(b"49", "v2") is None  # another data version: not served
    store.put(b"huge", _Page("v1", b"x" * 60_000, []), limit)  # over a quarter of the bound: not kept
    assert store.get(b"huge", "v1") is None


def test_no_page_is_kept_when_turned_off(app, client, admin, make, statements):
    app.config["PAGE_CACHE_MB"] = 0
    make.opportunity()
    get(client, "/opportunities")
    get(client, "/opportunities")
    statements[0] = 0
    get(client, "/opportunities")
    assert statements[0] > 5
    assert db.session.execute(select(Opportunity.id)).first()


def test_a_kept_page_is_rendered_again_within_a_minute(client, admin, make):
    """What a page computes from the clock (overdue tasks, today's date) and its CSRF token's time age a
    minute at most: each page is kept 30–60 s, at random so that pages are not all rendered at once."""
    make.opportunity()
    get(client, "/opportunities")
    get(client, "/opportunities")
    store = page_cache._store()
    ages = [page.until - time.monotonic() for page in store.pages.values()]
    assert ages and all(page_cache.MIN_AGE_S - 1 < age <= page_cache.MAX_AGE_S for age in ages)
    old = _Store()
    old.put(b"k", _Page("v1", b"x", [], until=time.monotonic() - 1), 1000)
    assert old.get(b"k", "v1") is None
