"""The flow designer in Chromium (issue 3, point 8): drag a substate to a new place and into another state,
add a scheduled send-email action step by step, reload, and find both kept."""

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Action, EmailTemplate, OpportunityType, SmtpCredential
from tests.browser.support import login, own_flow

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"


@pytest.fixture
def own_type(live_server):
    """A type of this test's own (the demo flows stay as other tests expect them)."""
    with own_flow(live_server.app, "Designer test", (("Documentation", ["Pending documentation", "Documentation validation", "Documents archived"]),
        ("Contract", ["Contract sent", "Contract signed"]))) as type_id:
        yield type_id


@pytest.fixture
def page(new_page):
    """A page that fails the test on any script error (CSP violations included) or unexpected failed request."""
    page = new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 422 and not r.url.endswith("/favicon.ico") else None)
    yield page
    assert errors == []


def column(page, state_name: str):
    return page.locator("section.state-col", has=page.locator(".state-name", has_text=state_name))


def names_in(page, state_name: str) -> list[str]:
    return [n.strip() for n in column(page, state_name).locator(".sub-name").all_inner_texts()]


def drag(page, source, target, below: bool = False) -> None:
    """Drag with real mouse steps, as a user does; Sortable then posts the order (wait for the answer and
    for htmx to have swapped it in: a box measured mid-swap belongs to a detached element)."""
    source.scroll_into_view_if_needed()
    src, dst = source.bounding_box(), target.bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/order") and r.request.method == "POST") as answer:
        page.mouse.move(src["x"] + src["width"] / 2, src["y"] + min(12, src["height"] / 2))
        page.mouse.down()
        page.mouse.move(src["x"] + src["width"] / 2 + 5, src["y"] + 20, steps=4)
        y = dst["y"] + (dst["height"] - 6 if below else 6)
        page.mouse.move(dst["x"] + dst["width"] / 2, y, steps=20)
        page.mouse.move(dst["x"] + dst["width"] / 2, y + (1 if below else -1), steps=4)
        page.mouse.up()
    assert answer.value.status == 200
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_drag_a_substate_within_its_state_and_into_another(page, live_server, own_type):
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    doc = column(page, "Documentation")
    drag(page, doc.locator(".sub-card", has_text="Documents archived"),
         doc.locator(".sub-card", has_text="Pending documentation"))
    expect(doc.locator(".sub-name").first).to_have_text("Documents archived")
    drag(page, column(page, "Contract").locator(".sub-card", has_text="Contract signed"),
         column(page, "Documentation").locator(".sub-card", has_text="Documentation validation"), below=True)
    expect(column(page, "Documentation").locator(".sub-name")).to_have_count(4)
    shown = names_in(page, "Documentation")
    assert shown[:2] == ["Documents archived", "Pending documentation"] and "Contract signed" in shown
    page.reload()
    assert names_in(page, "Documentation") == shown  # as the drag left it, kept
    assert names_in(page, "Contract") == ["Contract sent"]


def test_move_buttons_do_what_a_drag_does(page, live_server, own_type):
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    page.get_by_role("button", name="Move down: Documents archived").click()
    expect(column(page, "Contract").locator(".sub-name").first).to_have_text("Documents archived")
    page.reload()
    assert names_in(page, "Contract") == ["Documents archived", "Contract sent", "Contract signed"]


def test_add_a_scheduled_send_email_action_and_find_it_after_reload(page, live_server, own_type):
    with live_server.app.app_context():
        suffix = uuid.uuid4().hex[:6]
        db.session.add_all([EmailTemplate(name=f"Documentation reminder {suffix}", subjects={}, bodies={}),
                            SmtpCredential(name=f"Company mail {suffix}", host="127.0.0.1", port=25,
                                           from_address="noreply@example.com")])
        db.session.commit()
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    page.locator(".sub-name", has_text="Pending documentation").click()
    panel = page.locator("#panel")
    expect(panel.locator("h2")).to_have_text("Pending documentation")
    expect(page).to_have_url(f"{live_server.url}/settings/types/{own_type}/substates/"
                             + page.url.rsplit("/", 1)[-1])
    panel.get_by_role("button", name="+ Add action").first.click()
    panel.get_by_label("Scheduled").check()
    panel.locator("input[name=delay_amount]").fill("4")
    panel.locator("select[name=delay_unit]").select_option("days")
    panel.locator("select[name=kind]").select_option("send_email")
    template = panel.locator("select[name=config-email_template_id]")
    expect(template).to_be_visible()  # swapped in by htmx when the kind changed
    template.select_option(label=f"Documentation reminder {suffix}")
    panel.locator("select[name=config-smtp_credential_id]").select_option(label=f"Company mail {suffix}")
    panel.locator("select[name=config-recipient]").select_option("client")
    panel.get_by_role("button", name="Submit").click()
    scheduled = panel.locator("section.action-group[data-group=scheduled]")
    expect(scheduled.locator(".action-row")).to_have_count(1)
    expect(scheduled).to_contain_text("after 4 days")
    expect(page.locator(".sub-card", has_text="Pending documentation")).to_contain_text("1 action")
    page.reload()
    scheduled = page.locator("#panel section.action-group[data-group=scheduled]")
    expect(scheduled).to_contain_text("Send email")
    expect(scheduled).to_contain_text("after 4 days")
    expect(scheduled).to_contain_text(f"“Documentation reminder {suffix}” → Client")
    with live_server.app.app_context():
        t = db.session.get(OpportunityType, own_type)
        actions = db.session.execute(select(Action).where(Action.substate_id.in_([s.id for s in t.substates])))
        (action,) = actions.scalars()
        assert (action.group, action.kind, action.delay_amount, action.delay_unit) == ("scheduled", "send_email",
                                                                                        4, "days")


def test_invalid_action_shows_messages_in_the_panel(page, live_server, own_type):
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}")
    page.locator(".sub-name", has_text="Contract sent").click()
    panel = page.locator("#panel")
    panel.get_by_role("button", name="+ Add action").first.click()
    panel.get_by_label("Scheduled").check()
    panel.locator("input[name=delay_amount]").fill("0")
    panel.locator("select[name=kind]").select_option("open_substate")
    expect(panel.locator("select[name=config-substate_id]")).to_be_visible()
    panel.get_by_role("button", name="Submit").click()
    expect(panel.locator("small.error").first).to_have_text("The delay must be a whole number of days from 1 to 365.")
    expect(panel.locator("small.error").nth(1)).to_have_text("Choose a substate.")


def test_drag_an_action_to_reorder_its_group(page, live_server, own_type):
    with live_server.app.app_context():
        t = db.session.get(OpportunityType, own_type)
        subs = {s.name: s for s in t.substates}
        pending = subs["Pending documentation"]
        for target in ("Documentation validation", "Contract sent"):
            db.session.add(Action(substate=pending, group="on_open", kind="open_substate",
                                  config={"substate_id": subs[target].id}, position=len(pending.actions)))
        db.session.commit()
        pending_id = pending.id
    login(page, MANAGER, lang="en")
    page.goto(f"/settings/types/{own_type}/substates/{pending_id}")
    rows = page.locator("#panel section.action-group[data-group=on_open] .action-row")
    expect(rows).to_have_count(2)
    assert "Documentation validation" in rows.nth(0).inner_text()
    drag(page, rows.nth(1).locator(".drag-handle"), rows.nth(0))
    expect(rows.nth(0)).to_contain_text("Contract sent")
    page.reload()
    rows = page.locator("#panel section.action-group[data-group=on_open] .action-row")
    expect(rows.nth(0)).to_contain_text("Contract sent")
    expect(rows.nth(1)).to_contain_text("Documentation validation")
