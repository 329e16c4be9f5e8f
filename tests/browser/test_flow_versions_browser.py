"""D12/D14 in a browser: rename a substate in the designer, find the change on the Changes page, restore the
earlier version with the keyboard-reachable button, and import a broken flow file; axe-clean on a phone."""

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.support import htmx_settled, login, own_flow

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _violations(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} {n['target']}" for v in results.response["violations"] for n in v["nodes"]]


def test_changes_restore_and_a_refused_import(new_page, live_server, tmp_path):
    page = new_page(viewport=PHONE)
    login(page, "manager@example.com", lang="en")
    with own_flow(live_server.app, "Versions", (("Survey", ["Book", "Visit"]),)) as type_id:
        from extensions import db
        from models import OpportunityType

        with live_server.app.app_context():
            sub_id = db.session.get(OpportunityType, type_id).substates[0].id
        page.goto(f"/settings/types/{type_id}/substates/{sub_id}?tab=settings")
        htmx_settled(page)
        page.locator("#panel input[name=name]").fill("Book the survey")
        page.locator("#panel button[type=submit].primary").first.click()
        page.wait_for_selector("#panel .flash-success")
        page.goto(f"/settings/types/{type_id}/changes")
        first_change = page.locator("li.change").first
        assert "Book the survey" in first_change.inner_text()
        assert not _violations(page), _violations(page)
        if not page.locator("select[name=entity]").is_visible():  # the filters fold away on a phone
            page.locator("details.filterbox > summary").click()
        page.locator("select[name=entity]").select_option("substate")
        htmx_settled(page)
        assert "entity=substate" in page.url
        older = page.locator("li.change", has_text="Created").filter(has_text="Book").first
        page.once("dialog", lambda dialog: dialog.accept())
        older.get_by_role("button", name="Restore this version").click()
        page.wait_for_selector("#changes .flash-success")
        with live_server.app.app_context():
            from models import Substate

            assert db.session.get(Substate, sub_id).name == "Book"
        bad = tmp_path / "flow.json"
        bad.write_text(json.dumps({"format": "oppflow.flow", "version": 1, "type": {"name": "X"},
                                   "states": [{"name": "S", "substates": [{"key": "S1", "name": "A", "actions": [
                                       {"group": "on_open", "kind": "nope", "config": {}}]}]}]}))
        page.goto("/settings/types/import")
        page.set_input_files("#import-file", str(bad))
        page.locator("main form button[type=submit]").click()
        problems = page.locator("#import-problems")
        assert "states[0].substates[0].actions[0]: unknown action kind “nope”." in problems.inner_text()
        assert not _violations(page), _violations(page)
