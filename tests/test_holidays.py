"""Holidays (issue 14 item 9): working-hours scheduling skips them — bridges, regions, recurring days, a
calendar with no working day left bounded — for every caller; Settings → Holidays refuses bad input in
words and is for admins only."""

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.calendar import NoWorkingDay, next_working_moment
from extensions import db
from models import Holiday, User
from services import holidays as svc
from services.substates import open_substate
from tests.engine_support import add_action, runs
from tests.schedule_support import activity_of, base_config, run_through, save

ROME = ZoneInfo("Europe/Rome")


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=ROME).astimezone(UTC).replace(tzinfo=None)


def _local(utc: datetime) -> datetime:
    return utc.replace(tzinfo=UTC).astimezone(ROME).replace(tzinfo=None)


def _worker(**kw) -> User:
    return User(timezone="Europe/Rome", work_start=time(9), work_end=time(18), work_days=kw.get("days", "12345"))


def _holiday(day: date, name="Holiday", region=None, recurring=False) -> Holiday:
    holiday = Holiday(day=day, name=name, name_i18n={}, region=region, recurring=recurring)
    db.session.add(holiday)
    db.session.commit()
    return holiday


def test_a_due_time_on_a_holiday_moves_to_the_next_working_day(app):
    _holiday(date(2026, 12, 8), "Immacolata")  # a Tuesday
    due = _utc(datetime(2026, 12, 8, 10, 0))
    assert _local(next_working_moment(due, _worker())) == datetime(2026, 12, 9, 9, 0)
    # The day before is untouched.
    monday = _utc(datetime(2026, 12, 7, 10, 0))
    assert next_working_moment(monday, _worker()) == monday


def test_a_weekend_and_a_holiday_make_one_bridge(app):
    _holiday(date(2026, 11, 30), "Ponte")  # Monday after the weekend
    friday_evening = _utc(datetime(2026, 11, 27, 19, 0))
    assert _local(next_working_moment(friday_evening, _worker())) == datetime(2026, 12, 1, 9, 0)


def test_a_recurring_holiday_applies_in_a_later_year_a_dated_one_does_not(app):
    _holiday(date(2020, 12, 25), "Natale", recurring=True)
    _holiday(date(2020, 12, 26), "Santo Stefano 2020 only")
    due = _utc(datetime(2028, 12, 25, 10, 0))  # a Monday
    assert _local(next_working_moment(due, _worker())) == datetime(2028, 12, 26, 9, 0)


def test_a_regional_holiday_applies_only_to_matching_regions(app):
    _holiday(date(2026, 12, 7), "Sant'Ambrogio", region="MI, Lombardia")
    due = _utc(datetime(2026, 12, 7, 10, 0))
    assert _local(next_working_moment(due, _worker(), "mi")) == datetime(2026, 12, 8, 9, 0)
    assert _local(next_working_moment(due, _worker(), "Lombardia")) == datetime(2026, 12, 8, 9, 0)
    assert next_working_moment(due, _worker(), "RM") == due
    assert next_working_moment(due, _worker(), None) == due


def test_a_calendar_without_working_days_is_searched_a_bounded_time(app):
    monday = date(2026, 11, 30)
    for week in range(110):  # every Monday for more than two years, and the user works Mondays only
        db.session.add(Holiday(day=monday + timedelta(weeks=week), name=f"Off {week}", name_i18n={}))
    db.session.commit()
    started = clock.monotonic()
    with pytest.raises(NoWorkingDay):
        next_working_moment(_utc(datetime(2026, 11, 30, 10, 0)), _worker(days="1"))
    assert clock.monotonic() - started < 2


def _scheduled_flow(make, province, customer_province=None, days="12345"):
    flow = make.flow((2,))
    s1, s2 = flow.substates
    action = add_action(s1, "scheduled", "open_substate", substate_id=s2.id, delay=(1, "minutes"))
    action.respect_working_hours = True
    owner = make.user("agent", timezone="Europe/Rome", work_days=days, work_start=time(9), work_end=time(18))
    customer = make.customer(province=customer_province)
    opp = make.opportunity(flow, owner=owner, province=province, customer=customer)
    db.session.commit()
    return opp, s1


def test_scheduled_actions_skip_the_regional_holiday_of_their_opportunity_only(make, engine_app):
    tomorrow = datetime.now(ROME).date() + timedelta(days=1)
    _holiday(tomorrow, "Patrono", region="MI")
    # Every day a working day, so only the holiday moves the due time (whatever day tomorrow is).
    milan, s1 = _scheduled_flow(make, "MI", days="1234567")
    rome, r1 = _scheduled_flow(make, "RM", days="1234567")
    # The opportunity has no province: its client's counts.
    client_milan, c1 = _scheduled_flow(make, None, customer_province="mi", days="1234567")
    for opp, sub in ((milan, s1), (rome, r1), (client_milan, c1)):
        open_substate(opp, sub.id, None)
    db.session.commit()
    due = {r.opportunity_id: _local(r.due_at).date() for r in runs()}
    today = datetime.now(ROME).date()
    assert due[milan.id] != tomorrow and due[client_milan.id] != tomorrow
    assert due[rome.id] in (today, tomorrow)  # 1 minute after now, moved into working hours at most to tomorrow
    assert all(r.status == "scheduled" for r in runs())


def test_a_scheduled_action_with_no_working_day_left_needs_review(make, engine_app):
    start = datetime.now(ROME).date()
    for day in range(740):  # two years of holidays: nothing to schedule in
        db.session.add(Holiday(day=start + timedelta(days=day), name=f"Off {day}", name_i18n={}))
    db.session.commit()
    opp, s1 = _scheduled_flow(make, "MI")
    open_substate(opp, s1.id, None)
    db.session.commit()
    (run,) = runs()
    assert (run.status, run.reason) == ("needs_review", "no_working_day")
    assert "holiday" in run.reason_text


def test_a_scheduled_activity_skips_a_holiday_too(make, workers):
    """The same one place (engine.calendar) serves the actions that compute a due time when they run."""
    rome = ZoneInfo("Europe/Rome")
    target = (datetime.now(UTC) + timedelta(hours=2)).astimezone(rome) + timedelta(days=2)
    flow = make.flow((2,))
    owner = make.user("agent", timezone="Europe/Rome", work_days=str(target.isoweekday()),
                      work_start=time(9), work_end=time(18))
    opp = make.opportunity(flow, owner=owner, province="MI")
    _holiday(target.date(), "Holiday on the one working weekday", region="MI")
    save(flow.substates[0], base_config(make.activity_type(), due_working_hours=True))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "succeeded", run.error
    due = activity_of(run).due_at.replace(tzinfo=UTC).astimezone(rome)
    assert due.date() == target.date() + timedelta(days=7) and (due.hour, due.minute) == (9, 0)


# -- Settings → Holidays ------------------------------------------------------------------------------------

@pytest.fixture
def italian_admin(client, make):
    user = make.user("admin", name="Ada Admin", language="it")
    client.login(user)
    return user


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Holiday))


def test_admin_adds_edits_and_deletes_a_holiday_with_dates_as_typed_in_italian(client, italian_admin):
    assert client.get("/settings/holidays?year=2026").status_code == 200
    response = client.post("/settings/holidays/new", data={
        "day": "25/12/2026", "name": "Christmas", "name_it": "Natale", "name_es": "Navidad", "recurring": "y"})
    assert response.status_code == 302
    holiday = db.session.execute(select(Holiday)).scalar_one()
    assert (holiday.day, holiday.recurring, holiday.name_i18n["it"]) == (date(2026, 12, 25), True, "Natale")
    listed = client.get("/settings/holidays?year=2031").get_data(as_text=True)  # recurring: every year
    assert "Natale" in listed and "25 dic 2031" in listed
    response = client.post(f"/settings/holidays/{holiday.id}", data={
        "day": "26/12/2026", "name": "St Stephen", "region": " MI ,  TO ", "recurring": ""})
    assert response.status_code == 302
    db.session.expire_all()
    holiday = db.session.get(Holiday, holiday.id)
    assert (holiday.day, holiday.region, holiday.recurring) == (date(2026, 12, 26), "MI, TO", False)
    assert client.post(f"/settings/holidays/{holiday.id}/delete").status_code == 302
    assert _count() == 0


@pytest.mark.parametrize("data,field", [
    ({"day": "12/25/2026", "name": "Natale"}, "day"),         # the English order, refused in Italian
    ({"day": "31/02/2026", "name": "Natale"}, "day"),         # no such day
    ({"day": "", "name": "Natale"}, "day"),
    ({"day": "25/12/2026", "name": ""}, "name"),
    ({"day": "25/12/2026", "name": "Natale", "region": "x" * 201}, "region"),
])
def test_bad_holidays_are_refused_in_words_and_nothing_is_saved(client, italian_admin, data, field):
    response = client.post("/settings/holidays/new", data=data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'<span id="{field}-error"><small class="error">' in text  # the message on the field at fault
    if data["day"] == "12/25/2026":
        assert "Data non valida: usa il formato gg/mm/aaaa" in text
    assert _count() == 0


def test_the_same_date_twice_for_the_same_region_is_refused(client, italian_admin):
    _holiday(date(2020, 6, 2), "Festa della Repubblica", recurring=True)
    _holiday(date(2026, 12, 7), "Sant'Ambrogio", region="MI")
    for data in ({"day": "02/06/2027", "name": "Again"},              # the recurring one's day, another year
                 {"day": "07/12/2026", "name": "Again", "region": "mi"}):
        response = client.post("/settings/holidays/new", data=data)
        assert response.status_code == 422
        assert '<span id="day-error"><small class="error">' in response.get_data(as_text=True)
    # Another region on the same day is a different holiday.
    assert client.post("/settings/holidays/new", data={"day": "07/12/2026", "name": "Other", "region": "TO"}).status_code == 302
    assert _count() == 3


def test_dates_are_read_in_the_pages_language(client, make):
    admin = make.user("admin", language="en")
    client.login(admin)
    assert client.post("/settings/holidays/new", data={"day": "12/25/2026", "name": "Christmas"}).status_code == 302
    assert db.session.execute(select(Holiday.day)).scalar_one() == date(2026, 12, 25)
    refused = client.post("/settings/holidays/new", data={"day": "25/12/2027", "name": "Christmas"})
    assert refused.status_code == 422 and "mm/dd/yyyy" in refused.get_data(as_text=True)


def test_national_holidays_are_added_once_with_easter(client, italian_admin):
    response = client.post("/settings/holidays/national", data={"national-country": "IT", "national-year": "2027", "national-region": ""})
    assert response.status_code == 302
    rows = db.session.execute(select(Holiday)).scalars().all()
    assert len(rows) == 11
    assert date(2027, 3, 29) in {h.day for h in rows}  # Easter Monday 2027
    assert {(h.day.month, h.day.day) for h in rows if h.recurring} >= {(12, 25), (5, 1), (6, 2)}
    again = client.post("/settings/holidays/national", data={"national-country": "IT", "national-year": "2027", "national-region": ""})
    assert again.status_code == 302 and _count() == 11
    spain = client.post("/settings/holidays/national", data={"national-country": "ES", "national-year": "2027", "national-region": "M, B"})
    assert spain.status_code == 302
    spanish = db.session.execute(select(Holiday).where(Holiday.region == "M, B")).scalars().all()
    assert date(2027, 3, 26) in {h.day for h in spanish} and (10, 12) in {(h.day.month, h.day.day) for h in spanish}
    for bad in ({"national-country": "FR", "national-year": "2027"}, {"national-country": "IT", "national-year": "20x7"},
                {"national-country": "IT", "national-year": "99999"}):
        assert client.post("/settings/holidays/national", data=bad).status_code == 422


def test_holidays_are_for_the_settings_permission_only(app, make):
    holiday = _holiday(date(2026, 12, 25), "Natale")
    urls = ["/settings/holidays", f"/settings/holidays/{holiday.id}"]
    posts = ["/settings/holidays/new", f"/settings/holidays/{holiday.id}", f"/settings/holidays/{holiday.id}/delete",
             "/settings/holidays/national"]
    for user, status in ((make.user("agent"), 403), (make.user("manager"), 403),
                         (make.user("partner", company=make.company()), 404)):
        client = app.test_client()
        client.login(user)
        assert [client.get(u).status_code for u in urls] == [status] * len(urls)
        assert [client.post(u, data={"day": "2026-12-26", "name": "x"}).status_code for u in posts] == [status] * len(posts)
    assert _count() == 1 and db.session.get(Holiday, holiday.id).day == date(2026, 12, 25)


def test_easter_dates():
    assert [svc.easter(y) for y in (2024, 2025, 2026, 2027)] == [
        date(2024, 3, 31), date(2025, 4, 20), date(2026, 4, 5), date(2027, 3, 28)]
