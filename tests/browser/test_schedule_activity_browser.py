"""M5 "Schedule activity" in a real browser: the kind's fields swapped in by htmx pass axe, a file chosen in
the action form travels with htmx's multipart post and is kept, and a scheduled activity's details on the
opportunity page pass axe too."""

import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Action, Activity, Location, Opportunity
from models.base import utcnow
from tests.browser.support import htmx_ready, login, own_flow

ADMIN = "admin@example.com"
_axe = Axe()
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _violations(page) -> list[str]:
    results = _axe.run(page)
    return [f"{v['id']} ({v['impact']}) {n['target']}" for v in results.response["violations"] for n in v["nodes"]]


@pytest.fixture
def own_type(live_server):
    with own_flow(live_server.app, "Schedule test", (("Meetings", ["First contact", "Visit done"]),)) as type_id:
        yield type_id


def test_the_form_passes_axe_and_an_uploaded_file_is_kept(new_page, live_server, own_type, tmp_path):
    with live_server.app.app_context():
        db.session.add(Location(name=f"Room {uuid.uuid4().hex[:6]}", name_i18n={}, address="Via Roma 1", active=True))
        db.session.commit()
    page = new_page()
    login(page, ADMIN, lang="en")
    page.goto(f"/settings/types/{own_type}")
    page.locator(".sub-name", has_text="First contact").click()
    panel = page.locator("#panel")
    panel.get_by_role("button", name="+ Add action").first.click()
    htmx_ready(page, "#panel select[name=kind]")
    panel.locator("select[name=kind]").select_option("schedule_activity")
    subject = panel.locator("input[name=config-subject]")
    expect(subject).to_be_visible()  # swapped in by htmx when the kind changed
    assert _violations(page) == []
    panel.locator("select[name=config-activity_type_id]").select_option(index=1)
    subject.fill("Visit {{ client.name }}")
    panel.get_by_label("Green").check()
    panel.get_by_label("A file uploaded here").check()
    agenda = tmp_path / "agenda.pdf"
    agenda.write_bytes(PDF)
    panel.locator("input[name=config-attachment_file]").set_input_files(str(agenda))
    panel.get_by_role("button", name="Submit").click()
    expect(panel.locator("section.action-group[data-group=on_open]")).to_contain_text("Schedule activity")
    with live_server.app.app_context():
        action = db.session.execute(select(Action).where(Action.kind == "schedule_activity")
                                    .order_by(Action.id.desc())).scalars().first()
        assert action.config["colour"] == "#27ae60" and action.config["attachment_upload"].endswith("/agenda.pdf")
        assert action.config["auto_complete"] is True


def test_a_scheduled_activity_on_the_opportunity_page_passes_axe(new_page, live_server):
    with live_server.app.app_context():
        opp = db.session.execute(select(Opportunity).order_by(Opportunity.id)).scalars().first()
        activity = Activity(opportunity_id=opp.id, type_id=1, description="Bring the contract",
                            subject="Visit at the client's", due_at=utcnow(), duration_minutes=90,
                            colour="#eb5757", address="Via Po 1, Torino", location_text="Bar Centrale",
                            link="https://meet.example.com/visit", include_client=True, in_calendar=True)
        db.session.add(activity)
        db.session.commit()
        opp_id, activity_id = opp.id, activity.id
    try:
        page = new_page()
        login(page, ADMIN, lang="en")
        page.goto(f"/opportunities/{opp_id}")
        details = page.locator("#activities .activity-details").first
        expect(details).to_contain_text("Red")
        expect(details).to_contain_text(re.compile(r"1 h 30 min"))
        assert _violations(page) == []
    finally:  # the demo data stays as the other browser tests expect it
        with live_server.app.app_context():
            db.session.delete(db.session.get(Activity, activity_id))
            db.session.commit()
