"""Action history in Chromium, in it/es/en (issue 6, point 9): reached through the user menu, tabs, a text
filter and a status filter that htmx applies to the table and the URL (the back button restores the
previous filter), and paging to older rows. Labels are compared with the catalogs, not copied strings."""

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import ActionRun, Channel, Customer, Opportunity, OpportunityType, OutgoingEmail, User
from models.base import utcnow
from services.demo import DEMO_PASSWORD
from services.history.registry import PAGE_SIZE
from tests.browser.support import login

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SENT, FAILED = 45, 20  # more than a page of rows in all, a part of a page once filtered
assert SENT + FAILED > PAGE_SIZE > FAILED


@pytest.fixture(scope="module")
def seeded(live_server) -> dict:
    """A user per language and, on an opportunity of its own, more email runs than a page holds."""
    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        users = {}
        for lang in ("it", "es", "en"):
            user = User(email=f"history-{lang}-{tag}@example.com", name=f"Storico {lang.upper()}", role="manager",
                        language=lang)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            users[lang] = user.email
        opp = Opportunity(name=f"Storia Browser {tag}", amount=1000,
                          type=db.session.execute(select(OpportunityType).limit(1)).scalar_one(),
                          customer=db.session.execute(select(Customer).limit(1)).scalar_one(),
                          channel=db.session.execute(select(Channel).limit(1)).scalar_one())
        db.session.add(opp)
        db.session.flush()
        for i in range(SENT + FAILED):
            failed = i % 3 == 0 and i < 3 * FAILED
            run = ActionRun(opportunity_id=opp.id, kind="send_email", trigger="on_open", chain_id=tag, result={},
                            config={}, status="failed" if failed else "succeeded", due_at=utcnow(),
                            finished_at=utcnow(), error="Connection refused by localhost:8025" if failed else None)
            db.session.add(run)
            db.session.flush()
            db.session.add(OutgoingEmail(
                run_id=run.id, opportunity_id=opp.id, kind="send_email", recipient=f"client{i}@example.net",
                template_name="Browser reminder" if i % 2 else "Browser welcome", recipient_role="client",
                credentials_name="Browser SMTP", sender="noreply@example.com",
                status="failed" if failed else "sent", error="Connection refused" if failed else None))
        db.session.commit()
        db.session.remove()
    return {"users": users, "opportunity": f"Storia Browser {tag}"}


def _labels(app, lang: str, *msgids: str) -> list[str]:
    """The catalog's words for these msgids in `lang`."""
    with app.test_request_context(), force_locale(lang):
        return [gettext(m) for m in msgids]


def _run_ids(page) -> list[str]:
    return page.locator("#history-table tbody tr").evaluate_all("rows => rows.map(r => r.id)")


def _query(page) -> dict:
    return parse_qs(urlparse(page.url).query)


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_history_tabs_filters_back_button_and_paging(new_page, live_server, seeded, lang):
    app = live_server.app
    account, history, email_tab, activities_tab, newest = _labels(
        app, lang, "Account information", "Action history", "Email", "Activities", "Newest")
    page = new_page(locale={"it": "it-IT", "es": "es-ES", "en": "en-US"}[lang])
    login(page, seeded["users"][lang])  # the user's own language, no switch
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # User menu → Account information → Action history, by clicks.
    page.locator("header .usermenu summary").click()
    page.locator("header .usermenu").get_by_role("link", name=account, exact=True).click()
    expect(page.locator("main h1")).to_have_text(account)
    page.locator("main").get_by_role("link", name=history, exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/history/email$"))
    expect(page.locator("main h1")).to_have_text(history)
    tabs = page.locator("nav.tabs")
    expect(tabs.get_by_role("link", name=email_tab, exact=True)).to_have_attribute("aria-current", "page")

    # Another tab and back.
    tabs.get_by_role("link", name=activities_tab, exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/history/activities$"))
    expect(tabs.get_by_role("link", name=activities_tab, exact=True)).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name=email_tab, exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/history/email$"))
    page.evaluate("window.__sameDocument = true")

    # A text filter: the table and the URL follow, without a page load.
    rows = page.locator("#history-table tbody tr")
    page.locator("form.filters input[name=opportunity]").fill(seeded["opportunity"])
    expect(page).to_have_url(re.compile(r"[?&]opportunity=Storia(\+|%20)Browser"))
    expect(rows).to_have_count(PAGE_SIZE)
    for text in rows.locator("td:first-child").all_inner_texts():
        assert seeded["opportunity"] in text

    # A status select on top: only the failed ones; then back restores the text filter alone.
    page.locator("form.filters select[name=status]").select_option("not_sent")
    expect(page).to_have_url(re.compile(r"[?&]status=not_sent"))
    # Only the filters in use are in the URL (a bookmark reads ?opportunity=…&status=…).
    assert set(parse_qs(urlparse(page.url).query, keep_blank_values=True)) == {"opportunity", "status"}, page.url
    expect(rows).to_have_count(FAILED)
    assert page.evaluate("window.__sameDocument === true"), "the filters should swap the table by htmx"
    rows.first.locator("details.run-status summary").click()  # the error on expand
    expect(rows.first.locator("details.run-status p.error")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"history_{lang}.png"), full_page=False)
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status=not_sent"))
    assert _query(page)["opportunity"] == [seeded["opportunity"]]
    expect(page.locator("form.filters select[name=status]")).to_have_value("")
    expect(rows).to_have_count(PAGE_SIZE)

    # Older rows: the next page holds the rest, none of the first page's.
    first = _run_ids(page)
    page.locator("#history-table nav.pagination a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"[?&]before="))
    expect(rows).to_have_count(SENT + FAILED - PAGE_SIZE)
    assert not set(_run_ids(page)) & set(first)
    expect(page.locator("#history-table nav.pagination a[rel=first]")).to_contain_text(newest)
    assert _query(page)["opportunity"] == [seeded["opportunity"]]  # the filter stays while paging
