"""In a real browser: the opportunity page's Automatic actions panel loads when expanded, says why an action
made no run, and Run now (after the browser's confirmation) starts a run shown in the panel; axe-clean."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Action, Channel, Customer, Opportunity, OpportunityType
from tests.browser.support import htmx_settled, login, own_flow

pytestmark = pytest.mark.browser

MANAGER = "manager@example.com"


def test_panel_explains_and_run_now_starts_a_run(page, live_server):
    with own_flow(live_server.app, "Run now", (("Survey", ["Visit booked", "Visit done"]),)) as type_id:
        opp_type = db.session.get(OpportunityType, type_id)
        booked, done = opp_type.substates
        db.session.add(Action(substate=booked, group="on_open", kind="open_substate", position=0, enabled=True,
                              config={"substate_id": done.id}))
        opp = Opportunity(name="Run-now opportunity", amount=100, type=opp_type,
                          customer=db.session.execute(select(Customer).limit(1)).scalar_one(),
                          channel=db.session.execute(select(Channel).limit(1)).scalar_one())
        db.session.add(opp)
        db.session.commit()
        opp_id = opp.id
    login(page, MANAGER, lang="en")
    page.goto(f"/opportunities/{opp_id}")
    page.locator(".opp-actions-box > summary").click()
    panel = page.locator("#opp-actions")
    expect(panel).to_contain_text("The substate has not been opened on this opportunity.")
    htmx_settled(page)
    found = [f"{v['id']} {n['target']}" for v in Axe().run(page).response["violations"] for n in v["nodes"]]
    assert not found, found
    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Run “Open substate (Actions on open)” now").click()
    expect(page.locator("#opp-actions")).to_contain_text("1 run started.")
    expect(page.locator("#opp-actions")).to_contain_text("run now by")
