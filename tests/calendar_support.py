"""Calendar test data made directly with the models (the kinds that create them are built elsewhere), and
a reader of the calendar page: which items each day shows."""

import re
from datetime import datetime

from extensions import db
from models import Activity, Task, TaskPerson
from models.work import activity_invitee


def scheduled(make, opp, responsible, due_at: datetime, subject: str, *, invitees=(), activity_type=None,
              **kw) -> Activity:
    """A scheduled activity (M5) in the responsible user's calendar."""
    kw.setdefault("duration_minutes", 60)
    kw.setdefault("colour", "#1f7a4d")
    kw.setdefault("in_calendar", True)
    activity = make.activity(opp, activity_type, subject=subject, due_at=due_at,
                             responsible_id=responsible.id if responsible else None, **kw)
    for user in invitees:
        db.session.execute(activity_invitee.insert().values(activity_id=activity.id, user_id=user.id))
    db.session.commit()
    return activity


def task(opp, responsible, deadline: datetime | None, title: str, *, participants=(), observers=(),
         status: str = "todo") -> Task:
    row = Task(opportunity_id=opp.id, title=title, responsible_id=responsible.id if responsible else None,
               deadline=deadline, status=status)
    row.people = [TaskPerson(user_id=u.id, role="participant") for u in participants] + \
                 [TaskPerson(user_id=u.id, role="observer") for u in observers]
    db.session.add(row)
    db.session.commit()
    return row


def days(body: str) -> dict[str, list[str]]:
    """{YYYY-MM-DD: [item titles]} for every day the page shows (month cells or week days)."""
    found = {}
    for part in body.split('class="cal-day')[1:]:
        day = re.search(r'<time datetime="(\d{4}-\d\d-\d\d)">', part).group(1)
        found[day] = re.findall(r'<span class="cal-title">([^<]*)</span>', part)
    return found


def item_html(body: str, title: str) -> str:
    """The <li> of the item with this title."""
    match = re.search(r'<li class="cal-item[^"]*"[^>]*>(?:(?!</li>).)*?<span class="cal-title">'
                      + re.escape(title) + r"</span>.*?</li>", body, re.S)
    assert match, f"{title!r} not on the page"
    return match.group(0)
