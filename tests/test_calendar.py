"""The calendar page (issue 11, item 7): week and month views in the user's time zone and language, the
user's scheduled activities (responsible or invited) and task deadlines (responsible or participant),
partner scoping, navigation, and what bad query parameters get."""

import re
from datetime import date, datetime, timedelta

import pytest
from babel import Locale
from flask_babel import force_locale, gettext, refresh

from extensions import db
from models.base import utcnow
from tests.calendar_support import days, item_html, scheduled, task

LATE = datetime(2026, 3, 10, 23, 30)  # UTC: already 11 March in Rome, still 10 March in New York

MONTHS = {"it": "marzo 2026", "es": "marzo de 2026", "en": "March 2026"}
WEEKDAYS = {"it": "mercoledì 11 marzo", "es": "miércoles, 11 de marzo", "en": "Wednesday, March 11"}
TIMES = {"it": "00:30", "es": "0:30", "en": "12:30\u202fAM"}


def page(client, query: str = "", **headers) -> str:
    refresh()  # the test's app context outlives requests: forget the locale and zone the last one cached
    response = client.get(f"/calendar{query}", headers=headers)
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


@pytest.fixture
def setup(make):
    flow = make.flow((1,))
    opp = make.opportunity(flow, name="Villa Rossi")
    return {"flow": flow, "opp": opp}


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_month_view_in_each_language_puts_a_late_activity_on_the_next_day_in_rome(client, make, setup, lang):
    user = make.user("agent", language=lang, timezone="Europe/Rome")
    scheduled(make, setup["opp"], user, LATE, "Sopralluogo tetto")
    client.login(user)
    body = page(client, "?view=month&date=2026-03-05")
    shown = days(body)
    assert shown["2026-03-11"] == ["Sopralluogo tetto"] and shown["2026-03-10"] == []
    assert f">{MONTHS[lang]}</h2>" in body
    assert WEEKDAYS[lang] in body and TIMES[lang] in body
    # A whole number of weeks, starting on the locale's first weekday, around all of March.
    assert len(shown) % 7 == 0 and {"2026-03-01", "2026-03-31"} <= set(shown)
    assert date.fromisoformat(next(iter(shown))).weekday() == Locale.parse(lang).first_week_day
    assert f'<html lang="{lang}">' in body


@pytest.mark.parametrize("zone,day,clock", [("Europe/Rome", "2026-03-11", "00:30"),
                                            ("America/New_York", "2026-03-10", "19:30"),
                                            ("UTC", "2026-03-10", "23:30")])
def test_week_view_in_each_time_zone(client, make, setup, zone, day, clock):
    user = make.user("agent", language="it", timezone=zone)
    scheduled(make, setup["opp"], user, LATE, "Sopralluogo tetto", duration_minutes=90)
    client.login(user)
    body = page(client, "?view=week&date=2026-03-10")
    shown = days(body)
    assert len(shown) == 7 and shown[day] == ["Sopralluogo tetto"]
    assert sum(len(titles) for titles in shown.values()) == 1
    end = (datetime.strptime(clock, "%H:%M") + timedelta(minutes=90)).strftime("%H:%M")
    assert f">{clock}–{end}</time>" in item_html(body, "Sopralluogo tetto")
    with force_locale("it"):  # the user's language
        assert gettext("Times in %(zone)s", zone=zone) in body


@pytest.mark.parametrize("view", ["month", "week"])
def test_today_is_marked_for_assistive_technology(client, make, view):
    client.login(make.user("agent", timezone="Pacific/Kiritimati"))  # UTC+14: often a day ahead of UTC
    body = page(client, f"?view={view}")
    assert body.count('aria-current="date"') == 1
    today = datetime.now(tz=__import__("zoneinfo").ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    current = re.search(r'aria-current="date">\s*<h3 class="cal-date"><time datetime="([\d-]+)"', body)
    assert current and current.group(1) == today


def test_structure_is_a_table_of_weeks_and_a_list_of_days(client, make):
    client.login(make.user("agent"))
    month = page(client, "?view=month&date=2026-03-05")
    assert '<table class="cal-month">' in month and month.count('<th scope="col">') == 7
    assert "<caption" in month and month.count('<h3 class="cal-date">') == len(days(month))
    week = page(client, "?view=week&date=2026-03-05")
    assert '<ol class="cal-week">' in week and week.count('<h3 class="cal-date">') == 7
    assert "<table" not in week


def test_invitee_sees_the_activity_and_others_do_not(client, make, setup):
    owner, guest, stranger = make.user("agent"), make.user("agent"), make.user("agent")
    scheduled(make, setup["opp"], owner, datetime(2026, 3, 12, 9), "Riunione cantiere", invitees=[guest])
    for user, sees in ((owner, True), (guest, True), (stranger, False)):
        client.post("/logout")
        client.login(user)
        body = page(client, "?date=2026-03-12")
        assert ("Riunione cantiere" in body) is sees
        if user is guest:
            assert "Invited" in item_html(body, "Riunione cantiere")


def test_only_calendar_activities_with_a_time_are_shown(client, make, setup):
    user = make.user("agent")
    scheduled(make, setup["opp"], user, datetime(2026, 3, 12, 9), "Shown")
    scheduled(make, setup["opp"], user, datetime(2026, 3, 12, 10), "Not in calendar", in_calendar=False)
    make.activity(setup["opp"], description="A plain activity (A7)", responsible_id=user.id, in_calendar=True)
    scheduled(make, setup["opp"], make.user("agent"), datetime(2026, 3, 12, 9), "Someone else's")
    scheduled(make, setup["opp"], user, datetime(2026, 4, 20, 9), "Next month")
    client.login(user)
    assert days(page(client, "?date=2026-03-12"))["2026-03-12"] == ["Shown"]


def test_colour_and_its_words_and_link_to_the_opportunity(client, make, setup):
    user = make.user("agent")
    kind = make.activity_type("Sopralluogo")
    scheduled(make, setup["opp"], user, datetime(2026, 3, 12, 9), "Coloured", colour="#ff8800", activity_type=kind)
    scheduled(make, setup["opp"], user, datetime(2026, 3, 12, 10), "Odd colour", colour="url(/)")  # fits varchar(7)
    scheduled(make, setup["opp"], user, datetime(2026, 3, 12, 11), "Done", completed_at=datetime(2026, 3, 12, 12))
    client.login(user)
    body = page(client, "?view=week&date=2026-03-12")
    coloured = item_html(body, "Coloured")
    assert 'style="--cal-colour: #ff8800"' in coloured and '<span class="cal-label">Sopralluogo</span>' in coloured
    assert f'href="/opportunities/{setup["opp"].id}"' in coloured and "Villa Rossi" in coloured
    assert 'style="--cal-colour: #2454d6"' in item_html(body, "Odd colour") and "url(/)" not in body
    assert "Completed" in item_html(body, "Done")


def test_task_deadlines_of_responsible_and_participants_with_overdue_marked(client, make, setup):
    user, other = make.user("agent"), make.user("agent")
    now = utcnow().replace(microsecond=0)
    late = task(setup["opp"], user, now - timedelta(hours=2), "Late task")
    task(setup["opp"], user, now - timedelta(hours=3), "Finished task", status="completed")
    task(setup["opp"], other, now + timedelta(hours=1), "Joined task", participants=[user])
    task(setup["opp"], other, now + timedelta(hours=1), "Watched task", observers=[user])
    task(setup["opp"], other, now + timedelta(hours=1), "Other's task")
    task(setup["opp"], user, None, "No deadline")
    client.login(user)
    body = page(client, "?view=week&date=" + now.date().isoformat()) + \
        page(client, "?view=week&date=" + (now - timedelta(hours=3)).date().isoformat())
    shown = {t for titles in days(body).values() for t in titles}
    assert shown == {"Late task", "Finished task", "Joined task"}
    overdue = item_html(body, "Late task")
    assert "<strong>Overdue</strong>" in overdue and "Task deadline" in overdue and "cal-overdue" in overdue
    assert f'href="/tasks/{late.id}"' in overdue
    assert "Overdue" not in item_html(body, "Finished task") and "Completed" in item_html(body, "Finished task")
    assert "Overdue" not in item_html(body, "Joined task") and "To do" in item_html(body, "Joined task")


def test_partner_sees_only_items_of_their_company_opportunities(client, make, setup):
    mine, theirs = make.company("installer"), make.company("installer")
    partner = make.user("partner", company=mine)
    own = make.opportunity(setup["flow"], name="Our deal", installer=mine)
    foreign = make.opportunity(setup["flow"], name="Their deal", installer=theirs)
    when = datetime(2026, 3, 12, 9)
    scheduled(make, own, partner, when, "Own visit")
    scheduled(make, foreign, partner, when, "Foreign visit")
    scheduled(make, foreign, make.user("agent"), when, "Foreign invite", invitees=[partner])
    task(own, partner, when, "Own task")
    task(foreign, partner, when, "Foreign task")
    task(foreign, make.user("agent"), when, "Foreign joined", participants=[partner])
    client.login(partner)
    for view in ("month", "week"):
        body = page(client, f"?view={view}&date=2026-03-12")
        assert sorted(days(body)["2026-03-12"]) == ["Own task", "Own visit"]
        assert "Their deal" not in body
    # Moved off the opportunity: its items go too.
    own.installer_id = theirs.id
    db.session.commit()
    assert days(page(client, "?date=2026-03-12"))["2026-03-12"] == []


def test_navigation_previous_next_today_and_view_links(client, make):
    client.login(make.user("agent"))
    month = page(client, "?view=month&date=2026-03-20")
    assert 'href="/calendar?view=month&amp;date=2026-02-01" hx-get' in month
    assert 'href="/calendar?view=month&amp;date=2026-04-01" hx-get' in month
    assert 'href="/calendar?view=month"' in month  # today
    assert 'href="/calendar?view=week&amp;date=2026-03-20"' in month
    week = page(client, "?view=week&date=2026-03-20")
    assert 'href="/calendar?view=week&amp;date=2026-03-13"' in week and 'date=2026-03-27"' in week
    assert re.search(r'href="/calendar\?view=week&amp;date=2026-03-20"[^>]*aria-current="page"', week)
    for link in re.findall(r'href="(/calendar\?[^"]+)"', month + week):
        assert client.get(link.replace("&amp;", "&")).status_code == 200
    # January's previous month is last December.
    assert 'date=2025-12-01"' in page(client, "?date=2026-01-31")


def test_htmx_gets_the_calendar_alone(client, make):
    client.login(make.user("agent"))
    body = page(client, "?view=week&date=2026-03-20", **{"HX-Request": "true"})
    assert body.lstrip().startswith('<div id="calendar"') and "<html" not in body
    assert "calendar-feed" not in body


@pytest.mark.parametrize("query", ["?view=year", "?date=2026-13-45", "?date=yesterday", "?date=0001-01-01",
                                   "?date=9999-12-31", "?date=99999-01-01", "?date=2026-3-1", "?view=week&date=%00",
                                   "?date=" + "9" * 400, "?view=" + "Ω" * 300, "?date=x&date=2026-03-10"])
def test_bad_view_or_date_shows_the_default_with_a_message(client, make, query):
    client.login(make.user("agent"))
    body = page(client, query)
    assert "was not understood" in body and 'aria-current="date"' in body
    assert "cal-view-month" in body or "view=week" in query


def test_needs_a_login_and_is_in_the_main_navigation(client, make):
    assert client.get("/calendar").status_code == 302
    client.login(make.partner())
    body = page(client)
    assert re.search(r'<a href="/calendar" aria-current="page">Calendar</a>', body)
    assert 'href="/calendar"' in page_of(client, "/opportunities")


def page_of(client, url: str) -> str:
    return client.get(url).get_data(as_text=True)
