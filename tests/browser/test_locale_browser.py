"""Numbers and dates in the page's language, not the browser's (issue "Keep every promise already made"): an
Italian user in an en-US Chromium types Importo "9800,50" and reads 9.800,50 €; date filters show and take
gg/mm/aaaa."""

import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Opportunity
from tests.browser.support import login

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"


def test_italian_user_types_an_amount_and_dates_in_italian_in_an_english_browser(live_server, new_page):
    page = new_page(locale="en-US")
    login(page, MANAGER, lang="it")
    name = f"Tetto {uuid.uuid4().hex[:6]}"

    page.goto("/opportunities/new")
    form = page.locator("main form")
    form.locator("input[name=name]").fill(name)
    for select_name in ("type_id", "channel_id", "customer_id"):
        form.locator(f"select[name={select_name}]").select_option(index=1)
    amount = form.locator("input[name=amount]")
    expect(amount).to_have_attribute("type", "text")  # a number input would follow the browser's en-US locale
    amount.fill("9800,50")
    form.get_by_role("button", name="Salva").click()
    expect(page).to_have_url(re.compile(r"/opportunities/\d+$"))
    expect(page.locator("dd.amount")).to_have_text(re.compile(r"^9\.800,50\s€$"))
    opp_id = int(page.url.rsplit("/", 1)[1])
    with live_server.app.app_context():
        assert db.session.get(Opportunity, opp_id).amount == Decimal("9800.50")

    page.goto(f"/opportunities/{opp_id}/edit")
    expect(page.locator("input[name=amount]")).to_have_value("9.800,50")

    # The history's date filters: an ISO date from a link is shown in Italian; typed Italian dates filter.
    page.goto("/account/history/email?when_from=2025-03-05")
    since = page.locator("input[name=when_from]")
    expect(since).to_have_attribute("placeholder", "gg/mm/aaaa")
    expect(since).to_have_value("05/03/2025")
    until = page.locator("input[name=when_to]")
    until.fill("31/12/2099")
    until.press("Enter")
    expect(page).to_have_url(re.compile(r"when_to=31%2F12%2F2099"))
    expect(page.locator("#history-table .flash-error")).to_have_count(0)
    until.fill("31/02/2099")
    until.press("Enter")
    expect(page.locator("#history-table .flash-error")).to_have_text("Data non valida: usa il formato gg/mm/aaaa.")

