"""Working hours (SPEC E9): move a due time to the responsible user's next working moment."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import User


def next_working_moment(due_utc: datetime, user: User | None) -> datetime:
    """`due_utc` (naive UTC) if it falls in the user's working hours, else the start of the next period."""
    if user is None or not user.work_days:
        return due_utc
    try:
        tz = ZoneInfo(user.timezone or "UTC")
    except ZoneInfoNotFoundError:
        tz = ZoneInfo("UTC")
    local = due_utc.replace(tzinfo=UTC).astimezone(tz)
    start, end = user.work_start, user.work_end
    days = {int(d) for d in user.work_days if d.isdigit()}
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.isoweekday() not in days:
            continue
        opens = datetime.combine(day, start, tz)
        closes = datetime.combine(day, end, tz)
        if offset == 0 and opens <= local < closes:
            return due_utc
        if local < opens:
            return opens.astimezone(UTC).replace(tzinfo=None)
    return due_utc  # no working day configured in a week: do not hold the run forever
