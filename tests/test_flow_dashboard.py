"""The flow dashboard (issue 14 item 7): its figures against runs and substate stays counted by hand, the
period switch, partner scoping, the empty state and the links into the history and the opportunity list."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from extensions import db
from models import OpportunitySubstate
from models.base import utcnow
from services import dashboard
from tests import history_support as hs

DAY = 86400


def _at(days_ago: int, hour: int = 12) -> datetime:
    """Noon (UTC) `days_ago` days before today: well inside that day for a user in UTC."""
    today = utcnow().date()
    return datetime.combine(today - timedelta(days=days_ago), time(hour))


def _stay(make, flow, sub, opened: datetime, closed: datetime | None, **kw):
    """An opportunity of the flow that stayed in `sub` from `opened` to `closed` (None: still open)."""
    opp = make.opportunity(flow, **kw)
    db.session.add(OpportunitySubstate(opportunity_id=opp.id, substate_id=sub.id, status="closed" if closed else "open",
                                       opened_at=opened, closed_at=closed))
    db.session.commit()
    return opp


@pytest.fixture
def seeded(make):
    """A flow with known runs and stays:

    runs (day: statuses) — 1 day ago: 3 succeeded, 2 failed (action A, "SMTP refused");
    3 days ago: 1 needs review (action B, "Check the recipient"), 1 skipped, 1 cancelled, 1 pending;
    10 days ago: 4 succeeded, 1 failed (A, "Timeout"); 40 days ago: 5 succeeded, 1 failed (B, "Old error");
    and 7 failed runs of another type, never counted.
    stays — substate 1: closed after 1, 2, 3, 4 and 10 days (nearest rank: median 3 days, p90 10 days);
    open for 11, 12 and 2 days (two beyond p90 = stalled). Substate 2: closed after 1 h and 5 h (median 1 h,
    p90 5 h; fewer than five, so the limit is 14 days), one closed 40 days ago (outside 30 days);
    open for 15 and 13 days (one stalled)."""
    flow = make.flow((1, 1), name="Photovoltaic")
    sub1, sub2 = flow.substates
    act_a = make.action(sub1, "send_email", config={})
    act_b = make.action(sub2, "send_email", config={})
    alpha = make.opportunity(flow, name="Alpha deal")
    beta = make.opportunity(flow, name="Beta deal")
    for _ in range(3):
        hs.run(alpha, "open_substate", "succeeded", created_at=_at(1))
    for _ in range(2):
        hs.run(alpha, "send_email", "failed", action_id=act_a.id, error="SMTP refused", created_at=_at(1))
    hs.run(beta, "send_email", "needs_review", action_id=act_b.id, error="Check the recipient", created_at=_at(3))
    for status in ("skipped", "cancelled", "pending"):
        hs.run(beta, "open_substate", status, created_at=_at(3))
    for _ in range(4):
        hs.run(alpha, "open_substate", "succeeded", created_at=_at(10))
    hs.run(alpha, "send_email", "failed", action_id=act_a.id, error="Timeout", created_at=_at(10))
    for _ in range(5):
        hs.run(beta, "open_substate", "succeeded", created_at=_at(40))
    hs.run(beta, "send_email", "failed", action_id=act_b.id, error="Old error", created_at=_at(40))
    other = make.flow((1, 1), name="Other type")
    stranger = make.opportunity(other, name="Other deal")
    for _ in range(7):
        hs.run(stranger, "send_email", "failed", error="Elsewhere", created_at=_at(1))
    db.session.commit()
    now = utcnow()
    for days in (1, 2, 3, 4, 10):
        _stay(make, flow, sub1, now - timedelta(days=days + 1), now - timedelta(days=1))
    stalled = [_stay(make, flow, sub1, now - timedelta(days=d), None, name=f"Stalled {d}") for d in (11, 12)]
    _stay(make, flow, sub1, now - timedelta(days=2), None, name="Fresh 2")
    for hours in (1, 5):
        _stay(make, flow, sub2, now - timedelta(days=2), now - timedelta(days=2) + timedelta(hours=hours))
    _stay(make, flow, sub2, now - timedelta(days=45), now - timedelta(days=40))
    _stay(make, flow, sub2, now - timedelta(days=15), None, name="Stalled 15")
    _stay(make, flow, sub2, now - timedelta(days=13), None, name="Fresh 13")
    return {"flow": flow, "subs": (sub1, sub2), "actions": (act_a, act_b), "other": other, "stalled": stalled}


@pytest.fixture
def viewer(client, make):
    user = make.user("agent", timezone="UTC")
    client.login(user)
    return user


def _day_counts(body: str) -> dict[str, dict[str, int]]:
    """{day: {status: count}} from the page's table of runs per day (days with no run left out)."""
    out = {}
    for day, cells in re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', body, re.S):
        counts = {s: int(n.replace(",", "")) for s, n in re.findall(r'data-status="(\w+)">([\d,]+)<', cells)}
        if any(counts.values()):
            out[day] = {s: n for s, n in counts.items() if n}
    return out


def _days_ago(n: int) -> str:
    return (utcnow().date() - timedelta(days=n)).isoformat()


def test_runs_per_day_by_status_match_the_hand_count(client, seeded, viewer):
    flow = seeded["flow"]
    body = client.get(f"/dashboard/{flow.id}").get_data(as_text=True)
    assert _day_counts(body) == {
        _days_ago(1): {"succeeded": 3, "failed": 2},
        _days_ago(3): {"needs_review": 1, "skipped": 1, "cancelled": 1, "pending": 1},
        _days_ago(10): {"succeeded": 4, "failed": 1},
    }
    assert "14 runs in all." in body
    # The stacked chart: an SVG image with a name, a description and a segment per day and status.
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="runs-title runs-desc"', body)
    assert len(re.findall(r'<rect class="seg"', body)) == 2 + 4 + 2
    assert body.count('class="swatch"') >= 6  # the legend names every status shown


def test_period_switch_is_one_partial_for_page_and_htmx(client, seeded, viewer):
    flow = seeded["flow"]
    page = client.get(f"/dashboard/{flow.id}?days=7").get_data(as_text=True)
    assert "<html" in page and 'id="dashboard-body"' in page
    assert set(_day_counts(page)) == {_days_ago(1), _days_ago(3)}
    fragment = client.htmx("GET", f"/dashboard/{flow.id}?days=90").get_data(as_text=True)
    assert "<html" not in fragment
    assert 'id="dashboard-body"' in fragment
    assert re.search(r'href="/dashboard/\d+\?days=90"[^>]*aria-current="true"', fragment)
    assert _day_counts(fragment)[_days_ago(40)] == {"succeeded": 5, "failed": 1}
    assert "20 runs in all." in fragment
    # A period that is not offered falls back to 30 days.
    odd = client.get(f"/dashboard/{flow.id}?days=3650").get_data(as_text=True)
    assert re.search(r'href="/dashboard/\d+\?days=30"[^>]*aria-current="true"', odd)
    assert _days_ago(40) not in _day_counts(odd)


def test_failing_actions_with_their_errors(client, seeded, viewer):
    flow = seeded["flow"]
    act_a, act_b = seeded["actions"]
    board = dashboard.build(flow, viewer, 30)
    assert [(f.action_id, f.counts, f.errors) for f in board.failing] == [
        (act_a.id, {"failed": 3}, [("SMTP refused", 2), ("Timeout", 1)]),
        (act_b.id, {"needs_review": 1}, [("Check the recipient", 1)]),
    ]
    body = client.get(f"/dashboard/{flow.id}").get_data(as_text=True)
    assert "SMTP refused" in body and "Elsewhere" not in body and "Old error" not in body
    # Each count links to the history tab of the action's kind, filtered to that action and status...
    link = re.search(rf'<a href="(/account/history/email\?status=failed&amp;action_id={act_a.id})"', body)
    assert link, body
    history = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert 'id="action-filter"' in history
    show_all = re.search(r'id="action-filter">.*?<a [^>]*href="([^"]+)"', history, re.S).group(1)
    assert "action_id" not in show_all and "status=failed" in show_all
    assert "Alpha deal" in history and "Beta deal" not in history
    # ...where the filter holds: the other action's needs-review run is not among the failed ones.
    other = client.get(f"/account/history/email?status=needs_review&action_id={act_a.id}").get_data(as_text=True)
    assert "Beta deal" not in other
    assert "Beta deal" in client.get(f"/account/history/email?status=needs_review&action_id={act_b.id}").get_data(as_text=True)


def test_time_in_substates_median_p90_and_stalls(client, seeded, viewer):
    flow = seeded["flow"]
    sub1, sub2 = seeded["subs"]
    times = {t.substate.id: t for t in dashboard.build(flow, viewer, 30).times}
    one, two = times[sub1.id], times[sub2.id]
    assert (one.closed, one.open_now, one.stalled, one.threshold_is_p90) == (5, 3, 2, True)
    assert one.median == pytest.approx(3 * DAY, abs=1) and one.p90 == pytest.approx(10 * DAY, abs=1)
    assert (two.closed, two.open_now, two.stalled, two.threshold_is_p90) == (2, 2, 1, False)
    assert two.median == pytest.approx(3600, abs=1) and two.p90 == pytest.approx(5 * 3600, abs=1)
    assert two.threshold == dashboard.STALL_DAYS * DAY
    # Over 90 days the stay closed 40 days ago counts too: three stays, median 5 h, p90 5 days.
    two_90 = {t.substate.id: t for t in dashboard.build(flow, viewer, 90).times}[sub2.id]
    assert two_90.closed == 3 and two_90.median == pytest.approx(5 * 3600, abs=1)
    assert two_90.p90 == pytest.approx(5 * DAY, abs=1)

    body = client.get(f"/dashboard/{flow.id}").get_data(as_text=True)
    assert re.search(r'<svg[^>]*aria-labelledby="times-title times-desc"', body)
    stall_list = body[body.index('id="stall-list"'):]
    assert stall_list.index(f'data-substate="{sub1.id}"') < stall_list.index(f'data-substate="{sub2.id}"')
    assert "2 opportunities open longer than 10 days" in stall_list
    # The stall links to the opportunity list filtered by the substate's state: the stalled ones are there.
    link = re.search(rf'href="(/opportunities\?type={flow.id}&amp;state={sub1.state_id})"', stall_list)
    listing = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Stalled 11" in listing and "Stalled 12" in listing


def test_days_are_the_users_days(client, make, seeded):
    """A run at 20:00 UTC is on the next day for a user in Tokyo (UTC+9)."""
    flow = seeded["flow"]
    late = _at(5, hour=20)
    hs.run(make.opportunity(flow), "open_substate", "skipped", created_at=late)
    db.session.commit()
    user = make.user("agent", timezone="Asia/Tokyo")
    client.login(user)
    body = client.get(f"/dashboard/{flow.id}").get_data(as_text=True)
    local_day = late.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert _day_counts(body)[local_day].get("skipped") == 1


def test_partner_sees_only_their_company(client, make, seeded):
    flow = seeded["flow"]
    mine, theirs = make.company("installer"), make.company("installer")
    own = make.opportunity(flow, name="Own deal", installer=mine)
    rival = make.opportunity(flow, name="Rival deal", installer=theirs)
    for _ in range(2):
        hs.run(own, "send_email", "failed", action_id=seeded["actions"][0].id, error="Own error", created_at=_at(2))
    hs.run(rival, "send_email", "failed", action_id=seeded["actions"][0].id, error="Rival error", created_at=_at(2))
    db.session.add(OpportunitySubstate(opportunity_id=rival.id, substate_id=seeded["subs"][0].id, status="open",
                                       opened_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    partner = make.user("partner", company=mine, timezone="UTC")
    client.login(partner)
    body = client.get(f"/dashboard/{flow.id}").get_data(as_text=True)
    assert _day_counts(body) == {_days_ago(2): {"failed": 2}}
    assert "Own error" in body and "Rival error" not in body and "SMTP refused" not in body
    assert 'id="stall-list"' not in body  # the rival's stalled opportunity is no stall of theirs
    board = dashboard.build(flow, partner, 30)
    assert sum(t.open_now for t in board.times) == 0 and sum(t.closed for t in board.times) == 0
    # A type without any of their opportunities: out of scope, as any other page; the chooser lists theirs.
    assert client.get(f"/dashboard/{seeded['other'].id}").status_code == 404
    chooser = client.get("/dashboard").get_data(as_text=True)
    assert "Photovoltaic" in chooser and "Other type" not in chooser
    # The history offers the dashboard to partners (the designer is internal only).
    assert 'href="/dashboard"' in client.get("/account/history/email").get_data(as_text=True)


def test_empty_type_shows_a_friendly_empty_state(client, make, viewer):
    flow = make.flow((2, 2), name="Brand new")
    response = client.get(f"/dashboard/{flow.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="dashboard-empty"' in body and "Nothing to show yet" in body
    assert 'role="img"' not in body
    assert client.get("/dashboard/999999").status_code == 404


def test_reached_from_the_designer_and_the_history(client, make, seeded):
    admin = make.user("admin", timezone="UTC")
    client.login(admin)
    flow = seeded["flow"]
    assert f'href="/dashboard/{flow.id}"' in client.get(f"/settings/types/{flow.id}").get_data(as_text=True)
    assert 'href="/dashboard"' in client.get("/account/history/email").get_data(as_text=True)
    chooser = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/dashboard/{flow.id}"' in chooser and f'href="/dashboard/{seeded["other"].id}"' in chooser

