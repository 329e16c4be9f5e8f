"""The "An external event arrives" trigger form in Chromium (T1, P4): chosen in the substate panel, filled,
refused once and saved — axe-clean, and on a 390 px phone with no sideways scroll."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask_babel import force_locale, gettext, pgettext
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import ExternalSource, Substate, Trigger
from services import external_sources
from tests.browser.phone import PHONE
from tests.browser.support import htmx_ready, login, own_flow

pytestmark = pytest.mark.browser
MANAGER = "manager@example.com"


def _violations(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} {node['target']}" for v in results.response["violations"] for node in v["nodes"]]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["desktop", "phone"])
def test_the_form_is_accessible_refuses_and_saves(new_page, live_server, viewport):
    app = live_server.app
    with own_flow(app, "External", (("Sales", ["Waiting", "Paid"]),)) as type_id:
        with app.app_context():
            if db.session.execute(select(ExternalSource).where(ExternalSource.name == "crm")).first() is None:
                external_sources.create_source("crm", "CRM")
                db.session.commit()
            paid = db.session.execute(select(Substate.id).join(Substate.state)
                                      .where(Substate.state.has(type_id=type_id), Substate.name == "Paid")).scalar_one()
        with app.test_request_context(), force_locale("en"):
            kind_label = pgettext("trigger type", "An external event arrives")
            number_message = gettext("Enter a number, e.g. 1000 or 12.5.")
        page = new_page(viewport=viewport)
        login(page, MANAGER, lang="en")
        page.goto(f"/settings/types/{type_id}/substates/{paid}?tab=triggers")
        panel = page.locator("#panel")
        panel.get_by_role("button", name=re.compile("Add trigger")).click()
        form = panel.locator("form.trigger-form")
        htmx_ready(page, "form.trigger-form select[name=kind]")
        form.locator("select[name=kind]").select_option(label=kind_label)
        expect(form.locator("input[name='config-c1_path']")).to_be_visible()
        form.locator("select[name='config-source']").select_option("crm")
        form.locator("input[name='config-event_type']").fill("payment.received")
        form.locator("input[name='config-c1_path']").fill("data.amount")
        form.locator("select[name='config-c1_op']").select_option("gt")
        form.locator("input[name='config-c1_value']").fill("lots")
        form.get_by_role("button", name="Submit").click()
        expect(panel.locator("small.error")).to_have_text(number_message)
        assert _violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        form = panel.locator("form.trigger-form")
        form.locator("input[name='config-c1_value']").fill("1000")
        form.get_by_role("button", name="Submit").click()
        expect(panel.locator(".trigger-list")).to_contain_text("When “crm” sends “payment.received” with data.amount > 1000")
        assert _violations(page) == []
        with app.app_context():
            saved = db.session.execute(select(Trigger).where(Trigger.substate_id == paid)).scalar_one()
            assert saved.config["conditions"] == [{"path": "data.amount", "op": "gt", "value": "1000"}]
