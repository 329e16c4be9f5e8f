"""In a real browser (htmx swapping 422 answers, focus.js): Close on a substate that requires a field and a note
shows the inline form with the first missing field focused and its message read out; filling it closes the
substate. "Add activity" adds a linked task under it; completing it closes the substate (T3)."""

import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Channel, Customer, CustomField, Opportunity, SubstateRequirement
from services import flow as flow_svc
from services.substates import open_substate
from tests.browser.support import login

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"


def violations(page) -> list[str]:
    """axe-core's violations on the page as it stands (as tests/browser/test_a11y_browser.py runs it)."""
    return [f"{v['id']} {n['target']}" for v in Axe().run(page).response["violations"] for n in v["nodes"]]


@pytest.fixture(scope="module")
def flow(live_server) -> dict:
    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        t = flow_svc.create_type(f"Closing flow {tag}")
        state = flow_svc.create_state(t, "Survey")
        survey = flow_svc.create_substate(state, "Survey done")
        tasks = flow_svc.create_substate(state, "Documents collected")
        field = CustomField(key=f"kw_{tag}", name="Power (kW)", name_i18n={}, field_type="number", options=[])
        db.session.add(field)
        db.session.flush()
        db.session.add(SubstateRequirement(substate_id=survey.id, custom_field_id=field.id))
        survey.requires_note = True
        opp = Opportunity(name=f"Closing opportunity {tag}", amount=500, type=t,
                          customer=db.session.execute(select(Customer).limit(1)).scalar_one(),
                          channel=db.session.execute(select(Channel).limit(1)).scalar_one())
        db.session.add(opp)
        db.session.flush()
        open_substate(opp, survey.id, None)
        open_substate(opp, tasks.id, None)
        db.session.commit()
        ids = {"survey": survey.id, "tasks": tasks.id, "opp": opp.id, "field": field.id}
        db.session.remove()
    return ids


def test_close_asks_for_the_missing_field_and_note_then_closes(page, flow):
    login(page, MANAGER, lang="en")
    page.goto(f"/opportunities/{flow['opp']}")
    item = page.locator(f"#substate-{flow['survey']}")
    expect(item.locator(".close-needs")).to_contain_text("“Power (kW)”, a note")
    item.locator(f"#substate-{flow['survey']}-change").click()
    number = page.locator(f"#close-{flow['survey']}-custom-{flow['field']}")
    expect(number).to_be_focused()
    expect(page.locator("#status")).to_contain_text("Power (kW)")
    assert violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert violations(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    number.fill("12abc")
    page.locator(f"#close-{flow['survey']}-note").fill("Roof measured")
    item.locator(f"#substate-{flow['survey']}-change").click()
    # The refused value comes back with its own message (the missing field's one is gone).
    message = page.locator(f"#close-{flow['survey']}-custom-{flow['field']}-error")
    expect(message).not_to_contain_text("Fill this in")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_value("12abc")
    number.fill("6.5")
    item.locator(f"#substate-{flow['survey']}-change").click()
    expect(item.locator(".badge.closed")).to_be_visible()
    expect(item.locator(f"#substate-{flow['survey']}-change")).to_have_text("Reopen")
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("Roof measured")


def test_add_activity_then_complete_it_closes_the_substate(page, flow):
    login(page, MANAGER, lang="en")
    page.goto(f"/opportunities/{flow['opp']}")
    item = page.locator(f"#substate-{flow['tasks']}")
    item.locator("summary").click()
    assert violations(page) == []
    item.locator(f"#linked-{flow['tasks']}-title").fill("Collect the ID card")
    item.get_by_role("button", name="Add activity").click()
    task = item.locator(".linked-task")
    expect(task).to_contain_text("Collect the ID card")
    expect(page.locator("#status")).to_have_text("Task added.")
    expect(page.locator("#tasks")).to_contain_text("Collect the ID card")  # the Tasks section, out of band
    button = task.locator("button")
    expect(button).to_contain_text("Mark completed")
    button.click()
    expect(item.locator(".badge.closed").first).to_be_visible()
    expect(page.locator("#status")).to_contain_text("is now closed")
