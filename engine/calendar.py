"""Working hours (SPEC E9) and the company's holidays (issue 14 item 9): move a due time to the responsible
user's next working moment. Every caller (scheduled actions, task deadlines, scheduled activities) goes
through `next_working_moment`, so holidays are skipped everywhere in one place."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import NeedsReview
from models import User

# How far ahead a working day is looked for: a calendar of holidays with no working day in two years
# stops the search, and the run is left for a person to review ("no_working_day").
SEARCH_DAYS = 731


class NoWorkingDay(NeedsReview):
    """No working day within SEARCH_DAYS of the due time (every one is a holiday or a day off)."""

    def __init__(self) -> None:
        super().__init__("no_working_day")


def region_of(opp) -> str | None:
    """The province or region a holiday's region is matched against: the opportunity's, else its client's."""
    if opp is None:
        return None
    customer = getattr(opp, "customer", None)
    return opp.province or (customer.province if customer is not None else None)


def next_working_moment(due_utc: datetime, user: User | None, region: str | None = None) -> datetime:
    """`due_utc` (naive UTC) if it falls in the user's working hours on a day that is not a holiday for
    `region` (services.holidays), else the start of the next such period; NoWorkingDay when none comes
    within SEARCH_DAYS."""
    from services.holidays import days_off

    if user is None or not user.work_days:
        return due_utc
    days = {int(d) for d in user.work_days if d.isdigit()}
    if not days & set(range(1, 8)):
        return due_utc  # no working day configured in a week: do not hold the run forever
    try:
        tz = ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = due_utc.replace(tzinfo=UTC).astimezone(tz)
    start, end = user.work_start, user.work_end
    off = days_off(region)
    for offset in range(SEARCH_DAYS):
        day = (local + timedelta(days=offset)).date()
        if day.isoweekday() not in days or day in off:
            continue
        opens = datetime.combine(day, start, tz)
        closes = datetime.combine(day, end, tz)
        if offset == 0 and opens <= local < closes:
            return due_utc
        if local < opens:
            return opens.astimezone(UTC).replace(tzinfo=None)
    raise NoWorkingDay()
