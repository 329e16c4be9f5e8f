"""The flow dashboard in Chromium (issue 14 item 7): reached from the designer's Dashboard button, the period
switch swaps the figures through htmx, pushes the URL and keeps the focus on the link that was pressed; on a
390 px phone the charts fit the screen."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import ActionRun, Opportunity
from tests.browser.support import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def type_id(live_server) -> int:
    """The demo type with the most runs."""
    with live_server.app.app_context():
        stmt = (select(Opportunity.type_id).join(ActionRun, ActionRun.opportunity_id == Opportunity.id)
                .group_by(Opportunity.type_id).order_by(func.count().desc()).limit(1))
        found = db.session.execute(stmt).scalar_one()
        db.session.remove()
        return found


def test_period_switch_from_the_designer(new_page, type_id):
    page = new_page()
    login(page, "manager@example.com", lang="en")
    page.goto(f"/settings/types/{type_id}")
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_have_attribute("href", f"/dashboard/{type_id}")
    page.goto(f"/dashboard/{type_id}")
    expect(page.locator("#period-30")).to_have_attribute("aria-current", "true")
    expect(page.locator("#runs-title")).to_contain_text("last 30 days")
    page.locator("#period-7").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#runs-title")).to_contain_text("last 7 days")
    expect(page.locator("#period-7")).to_have_attribute("aria-current", "true")
    assert page.url.endswith(f"/dashboard/{type_id}?days=7")
    assert page.evaluate("document.activeElement.id") == "period-7"
    expect(page.locator("#status")).to_have_text("Last 7 days")
    page.go_back()
    expect(page.locator("#runs-title")).to_contain_text("last 30 days")


def test_charts_fit_a_phone(new_page, type_id):
    page = new_page(viewport={"width": 390, "height": 844})
    login(page, "manager@example.com", lang="en")
    page.goto(f"/dashboard/{type_id}")
    for svg in page.locator("figure.chart svg").all():
        box = svg.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
