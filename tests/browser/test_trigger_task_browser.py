"""Issue 11 end to end in Chromium, in it/es/en: a sales manager builds a task-status trigger in the designer
(substate panel → Triggers → Add trigger), then a user completes the task on its page, and the opportunity
moves on: the trigger's substate is open and its on-open action has run. Screenshots:
docs/screenshots/trigger_{form,opened}_{lang}.png. Labels come from the catalogs, not copied strings."""

import re
import uuid
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext, pgettext
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Channel, Customer, Opportunity, OpportunitySubstate, Substate, Trigger, User
from services import substates as substate_svc
from services import tasks as task_svc
from tests.browser.support import htmx_ready, htmx_settled, login, own_flow

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MANAGER = "manager@example.com"
NAMES = {"it": ("Installazione", "Programmata", "Completata", "Prepara il progetto"),
         "es": ("Instalación", "Programada", "Completada", "Prepara el proyecto"),
         "en": ("Installation", "Scheduled", "Completed", "Prepare the project")}


def _labels(app, lang: str, *msgids: str) -> list[str]:
    with app.test_request_context(), force_locale(lang):
        return [gettext(m) for m in msgids]


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_manager_builds_a_trigger_and_completing_the_task_moves_the_opportunity(new_page, live_server, lang):
    app = live_server.app
    state, first, second, title = NAMES[lang]
    with own_flow(app, f"Trigger {lang}", ((state, [first, second]),)) as type_id:
        with app.app_context():
            subs = {s.name: s.id for s in db.session.execute(
                select(Substate).join(Substate.state).where(Substate.state.has(type_id=type_id))).scalars()}
        triggers, add, submit, change = _labels(app, lang, "Triggers", "Add trigger", "Submit", "Change status")
        with app.test_request_context(), force_locale(lang):
            kind_label = pgettext("trigger type", "Task status")
            complete = pgettext("task status", "Completed")

        # 1. The manager builds the trigger on the second substate, through the designer's panel.
        page = new_page(locale={"it": "it-IT", "es": "es-ES", "en": "en-US"}[lang])
        login(page, MANAGER, lang=lang)
        page.goto(f"/settings/types/{type_id}/substates/{subs[second]}?tab=triggers")
        panel = page.locator("#panel")
        panel.get_by_role("link", name=triggers, exact=True).click()
        htmx_settled(page)  # the tab's swap would otherwise replace the form "Add trigger" opens
        panel.get_by_role("button", name=re.compile(re.escape(add))).click()
        form = panel.locator("form.trigger-form")
        # Two trigger types now: choose one once htmx has taken the swapped-in select in hand.
        htmx_ready(page, "form.trigger-form select[name=kind]")
        form.locator("select[name=kind]").select_option(label=kind_label)
        expect(form.locator("select[name='config-status']")).to_be_visible()
        form.locator("select[name='config-status']").select_option("completed")
        form.locator("input[name='config-title_words']").fill(title.split()[0])
        page.screenshot(path=str(SCREENSHOTS / f"trigger_form_{lang}.png"), full_page=True)
        form.get_by_role("button", name=submit).click()
        expect(panel.locator(".trigger-list")).to_contain_text(second)
        with app.app_context():
            trigger = db.session.execute(select(Trigger).where(Trigger.substate_id == subs[second])).scalar_one()
            assert trigger.config["status"] == "completed" and trigger.enabled

            # 2. An opportunity of the type stands on the first substate, with a task for its owner.
            manager = db.session.execute(select(User).where(User.email == MANAGER)).scalar_one()
            opp = Opportunity(name=f"{title} {uuid.uuid4().hex[:6]}", type_id=type_id, owner_id=manager.id,
                              channel_id=db.session.execute(select(Channel.id).limit(1)).scalar_one(),
                              customer_id=db.session.execute(select(Customer.id).limit(1)).scalar_one())
            db.session.add(opp)
            db.session.flush()
            substate_svc.open_substate(opp, subs[first], manager)
            task = task_svc.create_task(opp, f"{title} – {opp.name}", responsible_id=manager.id,
                                        substate_id=subs[first], user=manager)
            db.session.commit()
            opp_id, task_id = opp.id, task.id

        # 3. The task's page: complete it; the trigger opens the second substate in that same save.
        page.goto(f"/tasks/{task_id}")
        page.locator("#task-status").select_option("completed")
        page.get_by_role("button", name=change).click()
        expect(page.locator("#task-current-status")).to_have_text(complete)
        with app.app_context():
            record = db.session.execute(select(OpportunitySubstate).where(
                OpportunitySubstate.opportunity_id == opp_id,
                OpportunitySubstate.substate_id == subs[second])).scalar_one()
            assert record.status == "open"

        # 4. The opportunity page shows the move.
        page.goto(f"/opportunities/{opp_id}")
        flow = page.locator("#flow")
        expect(flow).to_contain_text(second)
        page.screenshot(path=str(SCREENSHOTS / f"trigger_opened_{lang}.png"), full_page=True)
