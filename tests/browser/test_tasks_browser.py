"""Tasks in Chromium, in it/es/en (issue 11): a user goes Tasks (main navigation) → a task of theirs, changes
its status with the form; htmx swaps the status block in place, which then shows the new status and the
change (who) in its log; the page reloaded says the same. Screenshots: docs/screenshots/task_{lang}.png.
Labels are compared with the catalogs, not copied strings."""

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext, pgettext
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Opportunity, Task, User
from models.base import utcnow
from services import tasks as task_svc
from services.demo import DEMO_PASSWORD
from tests.browser.support import login

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def seeded(live_server) -> dict:
    """A user per language, each responsible for a task (overdue) on a demo opportunity, with an observer."""
    tag = uuid.uuid4().hex[:6]
    out = {}
    with live_server.app.app_context():
        opp = db.session.execute(select(Opportunity).order_by(Opportunity.id).limit(1)).scalar_one()
        observer = db.session.execute(select(User).where(User.role == "manager").limit(1)).scalar_one()
        titles = {"it": "Prepara il progetto", "es": "Prepara el proyecto", "en": "Prepare the project"}
        for lang in ("it", "es", "en"):
            user = User(email=f"tasks-{lang}-{tag}@example.com", name=f"Incarichi {lang.upper()}", role="agent",
                        language=lang)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
            task = task_svc.create_task(opp, f"{titles[lang]} {tag}", "Sopralluogo e misure del tetto.",
                                        responsible_id=user.id, deadline=utcnow() - timedelta(hours=3),
                                        observers=[observer.id], user=observer)
            out[lang] = {"email": user.email, "name": user.name, "task": task.id, "title": task.title}
        db.session.commit()
        db.session.remove()
    return out


def _labels(app, lang: str, *msgids: str) -> list[str]:
    with app.test_request_context(), force_locale(lang):
        return [gettext(m) for m in msgids]


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_user_opens_a_task_and_changes_its_status(new_page, live_server, seeded, lang):
    app = live_server.app
    mine = seeded[lang]
    tasks, change, overdue = _labels(app, lang, "Tasks", "Change status", "Overdue")
    with app.test_request_context(), force_locale(lang):
        in_progress = pgettext("task status", "In progress")
    page = new_page(locale={"it": "it-IT", "es": "es-ES", "en": "en-US"}[lang])
    login(page, mine["email"])
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # Main navigation → Tasks (mine) → the task, by clicks.
    page.locator("header nav.mainnav").get_by_role("link", name=tasks, exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    row = page.locator(f"#task-{mine['task']}")
    expect(row).to_contain_text(overdue)
    row.get_by_role("link", name=mine["title"]).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{mine['task']}$"))
    expect(page.locator("main h1")).to_have_text(mine["title"])

    # Change the status: the block is swapped by htmx (no page load), and says who changed it.
    page.evaluate("window.__sameDocument = true")
    page.locator("#task-status").select_option("in_progress")
    page.get_by_role("button", name=change).click()
    block = page.locator("#status-block")
    expect(block.locator("#task-current-status")).to_have_text(in_progress)
    expect(block.locator("#task-status-log tbody tr")).to_have_count(1)
    expect(block.locator("#task-status-log")).to_contain_text(mine["name"])
    assert page.evaluate("window.__sameDocument === true"), "the status form should swap the block by htmx"
    expect(page.locator("#status")).to_contain_text(in_progress)  # read out to screen readers
    page.screenshot(path=str(SCREENSHOTS / f"task_{lang}.png"), full_page=True)

    page.reload()
    expect(page.locator("#task-current-status")).to_have_text(in_progress)
    with app.app_context():
        task = db.session.get(Task, mine["task"])
        assert task.status == "in_progress" and task.status_changed_by.email == mine["email"]
        db.session.remove()
