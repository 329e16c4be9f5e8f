"""Dry run (D11) in Chromium, in it/es/en: a manager goes from an opportunity to its Dry run page, chooses a
substate whose opening sends an email, and htmx shows the tree in place — the email's subject in the client's
language; then the designer's substate panel, Dry run tab, for a sample opportunity. Nothing is saved (the
runs and emails counted before and after), axe finds nothing on either. Screenshots:
docs/screenshots/dryrun_{lang}.png and dryrun_designer_{lang}.png. Labels come from the catalogs."""

import uuid
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import func, select

from extensions import db
from models import Action, ActionRun, Opportunity, OpportunitySubstate, OutgoingEmail, Substate, User
from services.demo import DEMO_PASSWORD
from tests.browser.support import htmx_settled, login

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def seeded(live_server) -> dict:
    """A manager per language; a demo opportunity and a substate of its flow, not open for it, whose
    opening sends an email (by an action that is neither disabled nor paused)."""
    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        sub = db.session.execute(
            select(Substate).join(Action, Action.substate_id == Substate.id)
            # Not one the demo's unreachable SMTP server has paused (E10's auto-pause after N failures).
            .where(Action.kind == "send_email", Action.group == "on_open", Action.enabled.is_(True),
                   Action.paused_at.is_(None))
            .order_by(Substate.id).limit(1)).scalar_one()
        opened = select(OpportunitySubstate.opportunity_id).where(OpportunitySubstate.substate_id == sub.id)
        opp = db.session.execute(select(Opportunity).where(Opportunity.type_id == sub.state.type_id,
                                                           Opportunity.id.not_in(opened))
                                 .order_by(Opportunity.id).limit(1)).scalar_one()
        users = {}
        for lang in ("it", "es", "en"):
            user = User(email=f"dry-{lang}-{tag}@example.com", name=f"Simula {lang.upper()}", role="manager",
                        language=lang)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            users[lang] = user.email
        labels = {}
        for lang in users:
            with live_server.app.test_request_context(), force_locale(lang):
                labels[lang] = sub.label
        out = {"users": users, "opp": opp.id, "type": sub.state.type_id, "sub": sub.id, "sub_label": labels,
               "customer_language": opp.customer.language}
        db.session.commit()
        db.session.remove()
    return out


def _counts(app) -> tuple:
    with app.app_context():
        counts = tuple(db.session.scalar(select(func.count()).select_from(m))
                       for m in (ActionRun, OutgoingEmail, OpportunitySubstate))
        db.session.remove()
    return counts


def _labels(app, lang: str, *msgids: str) -> list[str]:
    with app.test_request_context(), force_locale(lang):
        return [gettext(m) for m in msgids]


def _axe_clean(page) -> None:
    violations = Axe().run(page).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_manager_runs_a_dry_run_from_the_opportunity_and_the_designer(new_page, live_server, seeded, lang):
    app = live_server.app
    dry, show, sample, sample_name = _labels(app, lang, "Dry run", "Show what would happen",
                                             "A sample opportunity of this type", "Sample opportunity")
    before = _counts(app)
    page = new_page(locale={"it": "it-IT", "es": "es-ES", "en": "en-US"}[lang])
    login(page, seeded["users"][lang])
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # Opportunity → Dry run → choose the substate → the tree swaps in (no page load).
    page.goto(f"/opportunities/{seeded['opp']}")
    page.locator("main .pagehead").get_by_role("link", name=dry, exact=True).click()
    expect(page.locator("main h1")).to_have_text(dry)
    page.locator("#dry-substate").select_option(str(seeded["sub"]))
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name=show).click()
    result = page.locator("#dry-run-result")
    expect(result.locator("h2")).to_contain_text(seeded["sub_label"][lang])
    htmx_settled(page)
    assert page.evaluate("window.__sameDocument") is True
    mail = result.locator("details.dry-mail").first
    expect(mail).to_be_visible()
    mail.locator("summary").click()
    expect(mail.locator("pre")).to_have_attribute("lang", seeded["customer_language"])
    _axe_clean(page)
    page.screenshot(path=str(SCREENSHOTS / f"dryrun_{lang}.png"), full_page=True)

    # Designer → the substate's panel, Dry run tab → a sample opportunity.
    page.goto(f"/settings/types/{seeded['type']}/substates/{seeded['sub']}?tab=dryrun")
    expect(page.locator("#dry-opportunity")).to_have_value("")
    expect(page.locator("#dry-opportunity option").first).to_have_text(sample)
    page.get_by_role("button", name=show).click()
    expect(page.locator("#dry-run-result h3")).to_contain_text(sample_name)
    htmx_settled(page)
    expect(page.locator("#dry-run-result .dry-step").first).to_be_visible()
    _axe_clean(page)
    page.screenshot(path=str(SCREENSHOTS / f"dryrun_designer_{lang}.png"), full_page=True)

    assert _counts(app) == before
