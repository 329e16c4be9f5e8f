"""Screenshots of the account page (password, sessions, log out everywhere) and of the history rows a retry
and an engine's planned retry leave ("Retried → #N", "Will retry at …"), in Italian, Spanish and English.

    .venv/bin/python docs/make_promise_screenshots.py
"""

from datetime import timedelta

from screenshot_support import demo_browser, shoot

from tests.browser.support import switch_language


def seed(app):
    """A failed email retried once, and one the engine will retry, on the demo's first opportunity."""
    from extensions import db
    from models import ActionRun, User
    from models.base import utcnow
    from services.runs import retry_run

    with app.app_context():
        failed = db.session.execute(db.select(ActionRun).where(ActionRun.kind == "send_email",
                                                               ActionRun.status == "failed")).scalars().all()
        manager = db.session.execute(db.select(User).where(User.email == "manager@example.com")).scalar_one()
        retry_run(failed[0], manager)
        waiting = failed[1]
        waiting.status, waiting.attempts, waiting.due_at = "pending", 1, utcnow() + timedelta(minutes=12)
        db.session.commit()


def main() -> None:
    with demo_browser({"width": 1280, "height": 900}, seed) as (page, _):
        for lang in ("it", "es", "en"):
            switch_language(page, lang)
            page.goto("/account")
            shoot(page, f"account_{lang}.png")
            page.goto("/account/history/email?sort=status&dir=desc")
            page.locator("a.retried").first.scroll_into_view_if_needed()
            shoot(page, f"history_retry_{lang}.png", full_page=False)


if __name__ == "__main__":
    main()
