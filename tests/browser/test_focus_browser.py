"""Keyboard focus and announcements after htmx updates (issue "Partners on phones, and accessibility to WCAG 2.2
AA"): focus goes where the user continues — an opened form's first field, a refused form's first invalid
field, the saved row, the same control after a change, the results after a search — and the page's one live
region (#status) says what happened. Driven by the keyboard; the start control is focused directly."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import ActionRun, Channel, Customer, Opportunity, OutgoingEmail
from models.base import utcnow
from services import flow as flow_svc
from tests.browser.support import htmx_settled, login

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"


def _active(page) -> str:
    """Describes the focused element (for assertion messages)."""
    return page.evaluate("() => document.activeElement.outerHTML.slice(0, 160)")


@pytest.fixture(scope="module")
def flow(live_server) -> dict:
    """A type of its own with two substates, and an opportunity of that type with three email runs."""
    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        t = flow_svc.create_type(f"Focus flow {tag}")
        state = flow_svc.create_state(t, "Documents")
        first = flow_svc.create_substate(state, "Documents requested")
        second = flow_svc.create_substate(state, "Documents received")
        opp = Opportunity(name=f"Focus opportunity {tag}", amount=500, type=t,
                          customer=db.session.execute(select(Customer).limit(1)).scalar_one(),
                          channel=db.session.execute(select(Channel).limit(1)).scalar_one())
        db.session.add(opp)
        db.session.flush()
        for i in range(3):
            run = ActionRun(opportunity_id=opp.id, kind="send_email", trigger="on_open", chain_id=tag, result={},
                            config={}, status="succeeded", due_at=utcnow(), finished_at=utcnow())
            db.session.add(run)
            db.session.flush()
            db.session.add(OutgoingEmail(run_id=run.id, opportunity_id=opp.id, kind="send_email",
                                         recipient=f"focus{i}@example.net", template_name="Focus",
                                         recipient_role="client", credentials_name="Focus SMTP",
                                         sender="noreply@example.com", status="sent"))
        db.session.commit()
        ids = {"type": t.id, "first": first.id, "second": second.id, "opp": opp.id, "opp_name": opp.name}
        db.session.remove()
    return ids


def test_designer_add_action_by_keyboard_focus_follows_and_is_announced(page, flow):
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{flow['type']}")
    status = page.locator("#status")
    expect(status).to_have_attribute("aria-live", "polite")

    # Open the substate's panel from its card: the panel's heading takes the focus.
    page.locator(".sub-name", has_text="Documents requested").focus()
    page.keyboard.press("Enter")
    heading = page.locator("#panel h2")
    expect(heading).to_have_text("Documents requested")
    expect(heading).to_be_focused()

    # A few Tabs (the close link, the panel's tabs) reach "Add action"; Enter opens the form on its first field.
    add = page.locator("#panel").get_by_role("button", name="+ Add action").first
    for _ in range(10):
        page.keyboard.press("Tab")
        if add.evaluate("b => b === document.activeElement"):
            break
    expect(add).to_be_focused()
    page.keyboard.press("Enter")
    form = page.locator("#panel form.action-form")
    expect(form.locator("input[name=group]").first).to_be_focused()

    # Submitted empty: 422, focus on the first invalid field, its message read out.
    _settled(page)
    form.get_by_role("button", name="Submit").focus()
    page.keyboard.press("Enter")
    first_error = form.locator(".has-error").first
    expect(first_error.locator("small.error").first).to_be_visible()
    message = first_error.locator("small.error").first.inner_text()
    expect(status).to_contain_text(message)
    in_first = "e => e.contains(document.activeElement) && document.activeElement.matches('input, select, textarea')"
    assert first_error.evaluate(in_first), _active(page)

    # Fixed and saved: the saved action's row has the focus and "Saved" is read out.
    form.locator("select[name=kind]").select_option("open_substate")
    target = form.locator("select[name=config-substate_id]")
    expect(target).to_be_visible()
    target.select_option(str(flow["second"]))
    _settled(page)
    form.get_by_role("button", name="Submit").focus()
    page.keyboard.press("Enter")
    row = page.locator("#panel .action-row")
    expect(row).to_have_count(1)
    expect(row).to_be_focused()
    expect(status).to_have_text("Saved")
    # Tab goes on into the saved row's own buttons, not back to the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('#panel .action-row')"), _active(page)


def test_opening_a_substate_keeps_focus_on_its_control_and_says_so(page, flow):
    login(page, MANAGER, lang="en")
    page.goto(f"/opportunities/{flow['opp']}")
    button = page.locator(f"#substate-{flow['first']}-change")
    expect(button).to_have_text("Open")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_text("Close")  # the swapped-in control, same id
    expect(button).to_be_focused()
    expect(page.locator("#status")).to_have_text("“Documents requested” is now open.")
    page.keyboard.press("Enter")  # pressing again acts on the same substate
    expect(button).to_have_text("Reopen")
    expect(button).to_be_focused()
    expect(page.locator("#status")).to_have_text("“Documents requested” is now closed.")


def test_history_search_moves_focus_to_the_results_and_reads_the_count(page, flow):
    login(page, MANAGER, lang="en")
    page.goto("/account/history/email")
    search = page.locator("form.filters input[name=opportunity]")
    search.focus()
    page.keyboard.type(flow["opp_name"])
    # While typing, the table follows and its count is read out, but the focus stays in the field.
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#status")).to_have_text("3 actions found")
    expect(search).to_be_focused()
    # Enter (an explicit search) moves the focus to the results' count, read out again.
    page.evaluate("() => { document.getElementById('status').textContent = '' }")
    page.keyboard.press("Enter")
    count = page.locator("#history-table .count")
    expect(count).to_be_focused()
    expect(count).to_have_text("3 actions found")
    expect(page.locator("#status")).to_have_text("3 actions found")
    # A search with no match: the empty message has the focus and is read out.
    search.focus()
    page.keyboard.press("End")
    page.keyboard.type(" nothing like this")
    expect(page.locator("#status")).to_have_text(re.compile("No action matches these filters"))
    page.keyboard.press("Enter")
    expect(page.locator("#history-table .empty")).to_be_focused()


def _settled(page) -> None:
    """As a person would, wait the few milliseconds htmx takes to wire up what it swapped in: a key pressed
    before that submits the bare form natively."""
    htmx_settled(page)
    page.wait_for_timeout(50)
