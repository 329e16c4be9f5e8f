"""A real user's path through the foundation (issue 2, point 8): log in, switch language, open and close a
substate, filter the list, log out; and a partner user's scoped view."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import Opportunity, User
from services import opportunities as opp_svc
from services import substates as substate_svc
from services.access import visible_opportunities
from tests.browser.support import login, switch_language

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"
INSTALLER = "installer@example.com"


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def _opportunities_text(n: int) -> str:
    return f"{n} opportunity" if n == 1 else f"{n} opportunities"


def _mark_document(page) -> None:
    """Tag the loaded document: if the tag survives an action, htmx swapped a part, no page reload."""
    page.evaluate("window.__sameDocument = true")


def _same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_wrong_password_shows_the_error_and_the_right_one_lands_on_the_list(page):
    page.goto("/opportunities")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    form = page.locator("main form")
    form.locator("input[name=email]").fill(MANAGER)
    form.locator("input[name=password]").fill("not the password")
    form.locator("button[type=submit]").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))

    form.locator("input[name=password]").fill("demo1234")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/opportunities$"))
    expect(page.locator("#opp-table tbody tr").first).to_be_visible()


@pytest.mark.parametrize(("lang", "heading", "type_label"), [
    ("it", "Opportunità", "Impianto fotovoltaico"),
    ("es", "Oportunidades", "Instalación fotovoltaica"),
    ("en", "Opportunities", "Photovoltaic installation"),
], ids=["it", "es", "en"])
def test_header_switcher_changes_the_language(page, lang, heading, type_label):
    # Start from a different language than the one switched to, so the change is visible.
    login(page, MANAGER, lang="es" if lang != "es" else "it")
    switch_language(page, lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("main h1")).to_have_text(heading)  # from the catalog
    expect(page.locator("#opp-table tbody").get_by_text(type_label).first).to_be_visible()  # from the data
    expect(page.locator(f'form.langswitch button[value="{lang}"]')).to_have_attribute("aria-pressed", "true")
    page.reload()  # kept for the session and on the user's profile
    expect(page.locator("main h1")).to_have_text(heading)


def _pending_substate(app) -> tuple[int, int]:
    """An opportunity and one of its substates that was never opened."""
    with app.app_context():
        for opp in db.session.execute(select(Opportunity).order_by(Opportunity.id.desc())).scalars():
            for _state, rows in substate_svc.flow_of(opp):
                pending = [row for row in rows if row.status == "pending"]
                if pending:
                    return opp.id, pending[-1].substate.id
    raise AssertionError("the demo data has no pending substate")


def test_open_and_close_a_substate_with_the_flow_buttons(page, live_server):
    opp_id, substate_id = _pending_substate(live_server.app)
    login(page, MANAGER, lang="en")
    page.goto(f"/opportunities/{opp_id}")
    item = page.locator(f'#flow li.substate[data-substate="{substate_id}"]')
    expect(item).to_have_class(re.compile(r"\bstatus-pending\b"))
    expect(item.locator(".badge")).to_have_text("Not started")
    _mark_document(page)

    item.get_by_role("button", name="Open", exact=True).click()
    expect(item).to_have_class(re.compile(r"\bstatus-open\b"))
    expect(item.locator(".badge")).to_have_text("Open")
    expect(item.locator(".substate-meta")).to_contain_text("Marco Manager")  # who opened it

    item.get_by_role("button", name="Close", exact=True).click()
    expect(item).to_have_class(re.compile(r"\bstatus-closed\b"))
    expect(item.locator(".badge")).to_have_text("Closed")
    assert _same_document(page), "the buttons should swap #flow by htmx, not reload the page"
    expect(page.locator("#toast")).to_be_hidden()

    page.reload()
    expect(item).to_have_class(re.compile(r"\bstatus-closed\b"))
    expect(item.locator(".badge")).to_have_text("Closed")
    expect(item.get_by_role("button", name="Reopen", exact=True)).to_be_visible()


def test_search_updates_the_table_and_the_url(page, live_server):
    with live_server.app.app_context():
        manager = db.session.execute(select(User).where(User.email == MANAGER)).scalar_one()
        total = _count(opp_svc.search(opp_svc.OpportunityFilters(), manager))
        matching = _count(opp_svc.search(opp_svc.OpportunityFilters(q="Rossi"), manager))
    assert 0 < matching < total
    login(page, MANAGER, lang="en")
    count = page.locator("#opp-table .count")
    expect(count).to_have_text(_opportunities_text(total))
    _mark_document(page)

    page.locator("#q").fill("Rossi")
    expect(count).to_have_text(_opportunities_text(matching))
    expect(page).to_have_url(re.compile(r"/opportunities\?.*\bq=Rossi\b"))
    rows = page.locator("#opp-table tbody tr")
    expect(rows).to_have_count(min(matching, 20))
    for customer in rows.locator("td:nth-child(2)").all_inner_texts():
        assert "Rossi" in customer
    assert _same_document(page), "the search should update the table by htmx"

    page.reload()  # the URL holds the filter
    expect(page.locator("#q")).to_have_value("Rossi")
    expect(count).to_have_text(_opportunities_text(matching))


def test_log_out_ends_the_session(page):
    login(page, MANAGER, lang="en")
    page.locator("header").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    page.goto("/opportunities")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_partner_sees_only_their_company_and_gets_404_elsewhere(page, live_server):
    with live_server.app.app_context():
        user = db.session.execute(select(User).where(User.email == INSTALLER)).scalar_one()
        company = user.company.name
        own = _count(visible_opportunities(user))
        total = _count(select(Opportunity))
        other = db.session.scalar(
            select(Opportunity.id).where(
                (Opportunity.installer_id != user.company_id) | Opportunity.installer_id.is_(None),
                (Opportunity.commercial_id != user.company_id) | Opportunity.commercial_id.is_(None),
            ).limit(1)
        )
    assert 0 < own < total and other is not None
    login(page, INSTALLER, lang="en")
    page.goto("/opportunities")
    expect(page.locator("#opp-table .count")).to_have_text(_opportunities_text(own))
    rows = page.locator("#opp-table tbody tr")
    expect(rows.first).to_be_visible()
    for row in rows.all_inner_texts():
        assert company in row
    expect(page.locator("header nav")).not_to_contain_text("Customers")

    response = page.goto(f"/opportunities/{other}")
    assert response.status == 404
    expect(page.locator("main h1")).to_have_text("Not found")
