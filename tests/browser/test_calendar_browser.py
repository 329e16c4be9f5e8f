"""The calendar in Chromium, in it/es/en (issue 11, item 7): reached from the main navigation, the month and
the week view (htmx swaps the calendar and the URL follows; the back button restores it), today marked,
items in their colours with their words, the month as a list on a phone; the feed address created, copied
and renewed, the feed answering while the renewed one's predecessor does not. Screenshots of both views in
each language go to docs/screenshots/calendar_{month,week}_{lang}.png."""

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Activity, ActivityType, Opportunity, Task, TaskPerson, User
from models.base import utcnow
from models.work import activity_invitee
from services.demo import DEMO_PASSWORD
from tests.browser.support import login

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROME = ZoneInfo("Europe/Rome")
PHONE = {"width": 390, "height": 844}
MEETINGS = [("Sopralluogo tetto", "#1f7a4d", 9, 60), ("Firma contratto", "#b54708", 11, 30),
            ("Videochiamata progetto", "#2454d6", 15, 45), ("Consegna pannelli", "#7a1fa2", 8, 120)]


@pytest.fixture(scope="module")
def seeded(live_server) -> dict:
    """A user per language with a month of activities (some as invitee) and task deadlines, one overdue."""
    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        opps = db.session.execute(select(Opportunity).order_by(Opportunity.id).limit(4)).scalars().all()
        kinds = db.session.execute(select(ActivityType).order_by(ActivityType.id)).scalars().all()
        host = User(email=f"cal-host-{tag}@example.com", name="Carla Host", role="manager", language="it")
        host.set_password(DEMO_PASSWORD)
        db.session.add(host)
        users = {}
        for lang in ("it", "es", "en"):
            user = User(email=f"calendar-{lang}-{tag}@example.com", name=f"Calendario {lang.upper()}",
                        role="agent", language=lang, timezone="Europe/Rome")
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
            users[lang] = user.email
            _items(user, host, opps, kinds)
        db.session.commit()
        db.session.remove()
    return {"users": users}


def _rome(day: date, hour: int) -> datetime:
    """A time of day in Rome, as the naive UTC the database stores."""
    return datetime.combine(day, time(hour), tzinfo=ROME).astimezone(UTC).replace(tzinfo=None)


def _items(user: User, host: User, opps, kinds) -> None:
    now = utcnow()
    monday = datetime.now(ROME).date() - timedelta(days=datetime.now(ROME).weekday())
    for week in range(-2, 3):
        for i, (subject, colour, hour, minutes) in enumerate(MEETINGS):
            due = _rome(monday + timedelta(weeks=week, days=i), hour)
            invited = i == 2
            activity = Activity(opportunity_id=opps[i % len(opps)].id, type_id=kinds[i % len(kinds)].id,
                                subject=subject, due_at=due, duration_minutes=minutes, colour=colour,
                                responsible_id=host.id if invited else user.id, in_calendar=True)
            db.session.add(activity)
            db.session.flush()
            if invited:
                db.session.execute(activity_invitee.insert().values(activity_id=activity.id, user_id=user.id))
    db.session.add_all([
        Task(opportunity_id=opps[0].id, title="Prepara il progetto", responsible_id=user.id,
             deadline=now - timedelta(days=1), status="todo"),
        Task(opportunity_id=opps[1].id, title="Documentazione in sospeso", responsible_id=host.id,
             deadline=_rome(monday + timedelta(days=4), 17), status="in_progress",
             people=[TaskPerson(user_id=user.id, role="participant")]),
    ])


def _violations(page) -> list[str]:
    """axe-core's findings on the page as it stands (the a11y walk sees the calendar without items)."""
    page.wait_for_function("() => !document.querySelector('[hx-trigger=load]')")
    return [f"{v['id']} ({v['impact']}) {node['target']}" for v in Axe().run(page).response["violations"]
            for node in v["nodes"]]


def _t(app, lang: str, msgid: str, **values) -> str:
    with app.test_request_context(), force_locale(lang):
        return gettext(msgid, **values)


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_month_and_week_views_with_screenshots(new_page, live_server, seeded, lang):
    app = live_server.app
    page = new_page()
    login(page, seeded["users"][lang], lang=lang)
    page.get_by_role("navigation", name=_t(app, lang, "Main")).get_by_role(
        "link", name=_t(app, lang, "Calendar")).click()
    page.wait_for_url(re.compile(r".*/calendar$"))
    month = page.locator("table.cal-month")
    expect(month).to_be_visible()
    expect(month.locator("thead th")).to_have_count(7)
    today = month.locator('td[aria-current="date"]')
    expect(today).to_have_count(1)
    expect(page.locator(".cal-item").filter(has_text="Sopralluogo tetto").first).to_be_visible()
    overdue = page.locator(".cal-item.cal-overdue").filter(has_text="Prepara il progetto")
    expect(overdue.locator("strong")).to_have_text(_t(app, lang, "Overdue"))
    colour = page.locator(".cal-item").filter(has_text="Firma contratto").first.evaluate(
        "el => getComputedStyle(el).borderLeftColor")
    assert colour == "rgb(181, 71, 8)"
    assert not _violations(page)
    page.screenshot(path=str(SCREENSHOTS / f"calendar_month_{lang}.png"), full_page=True)

    # The week view, by htmx: the calendar is swapped, the URL follows, the heading takes the focus.
    page.get_by_role("navigation", name=_t(app, lang, "Calendar view")).get_by_role(
        "link", name=_t(app, lang, "Week")).click()
    expect(page.locator("ol.cal-week")).to_be_visible()
    page.wait_for_url(re.compile(r".*view=week.*"))
    expect(page.locator("ol.cal-week > li")).to_have_count(7)
    expect(page.locator('ol.cal-week > li[aria-current="date"]')).to_have_count(1)
    expect(page.locator("#cal-title")).to_be_focused()
    expect(page.locator("ol.cal-week .cal-item").filter(has_text="Videochiamata progetto")).to_contain_text(
        _t(app, lang, "Invited"))
    assert not _violations(page)
    page.screenshot(path=str(SCREENSHOTS / f"calendar_week_{lang}.png"), full_page=True)

    nav = page.get_by_role("navigation", name=_t(app, lang, "Calendar navigation"))
    title = page.locator("#cal-title").inner_text()
    nav.get_by_role("link", name=_t(app, lang, "Next week")).click()
    expect(page.locator("#cal-title")).not_to_have_text(title)
    expect(page.locator('ol.cal-week > li[aria-current="date"]')).to_have_count(0)
    page.go_back()
    expect(page.locator("#cal-title")).to_have_text(title)
    nav.get_by_role("link", name=_t(app, lang, "Today")).click()
    expect(page.locator('ol.cal-week > li[aria-current="date"]')).to_have_count(1)


def test_month_is_a_list_of_busy_days_on_a_phone(new_page, live_server, seeded):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, seeded["users"]["en"], lang="en")
    page.goto("/calendar")
    cells = page.locator("table.cal-month td")
    shown = [c for c in cells.all() if c.is_visible()]
    assert 0 < len(shown) < cells.count()  # free days and other months' days are left out
    assert all(c.locator(".cal-item").count() or c.get_attribute("aria-current") == "date" for c in shown)
    assert page.locator("table.cal-month thead").bounding_box()["width"] <= 1  # read out, not shown
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways ({width}px)"
    assert not _violations(page)


def test_feed_address_created_copied_renewed(new_page, live_server, seeded):
    app = live_server.app
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    login(page, seeded["users"]["es"], lang="es")
    page.goto("/calendar")
    feed = page.locator("#calendar-feed")
    expect(feed.get_by_role("heading")).to_have_text(_t(app, "es", "Subscribe from another calendar"))
    feed.get_by_role("button", name=_t(app, "es", "Create my calendar address")).click()
    field = page.get_by_label(_t(app, "es", "Your calendar address"))
    expect(field).to_have_attribute("readonly", "")
    first = field.input_value()
    assert re.fullmatch(r"https?://[^/]+/calendar/feed/[\w-]{43}\.ics", first)
    assert not _violations(page)

    page.get_by_role("button", name=_t(app, "es", "Copy")).click()
    expect(page.locator("#status")).to_have_text(_t(app, "es", "Address copied."))
    assert page.evaluate("navigator.clipboard.readText()") == first

    ics = page.request.get(urlsplit(first).path)
    assert ics.status == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text() and "Sopralluogo tetto" in ics.text()

    page.once("dialog", lambda dialog: dialog.accept())
    feed.get_by_role("button", name=_t(app, "es", "New address")).click()
    expect(field).not_to_have_value(first)
    assert page.request.get(urlsplit(first).path).status == 404
    assert page.request.get(urlsplit(field.input_value()).path).status == 200

    page.once("dialog", lambda dialog: dialog.accept())
    renewed = field.input_value()
    feed.get_by_role("button", name=_t(app, "es", "Stop sharing")).click()
    expect(feed.get_by_role("button", name=_t(app, "es", "Create my calendar address"))).to_be_visible()
    assert page.request.get(urlsplit(renewed).path).status == 404
