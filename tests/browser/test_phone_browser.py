"""Partners on phones (360–414 px): every partner page and the manager's opportunity list and action history fit
the screen with no sideways page scroll, show each table's first row (status, date, action) on screen, have no
tap target under 24 × 24 px (WCAG 2.2 §2.5.8) and primary actions of 44 px, and no text under 12 px."""

import pytest

from tests.browser.phone import (
    AUDIT_JS,
    FIRST_ROWS_JS,
    NARROW,
    PHONE,
    designer_page,
    manager_pages,
    partner_pages,
)
from tests.browser.support import login

pytestmark = pytest.mark.browser

PRIMARY_JS = """() => [...document.querySelectorAll('button.primary, .button.primary')]
  .filter(el => el.offsetParent).map(el => {
    const r = el.getBoundingClientRect();
    return {text: el.textContent.trim(), height: r.height, width: r.width};
  })"""


def problems(page, path: str) -> list[str]:
    """What is wrong with the page as a phone shows it, one line per problem (empty when it fits)."""
    page.goto(path)
    page.wait_for_load_state("networkidle")  # the bell and any htmx load have settled
    found = page.evaluate(AUDIT_JS)
    width = f"{found['viewport']} px"
    out = []
    if found["width"] > found["viewport"]:
        out.append(f"{path} @ {width}: the page is {found['width']} px wide (scrolls sideways)")
    if found["small"]:
        out.append(f"{path} @ {width}: {len(found['small'])} tap targets under 24 px: {'; '.join(found['small'])}")
    if found["tinyText"]:
        out.append(f"{path} @ {width}: text under 12 px: {'; '.join(found['tinyText'][:10])}")
    for table in page.evaluate(FIRST_ROWS_JS):
        keys = {cell["key"] for cell in table["cells"]}
        off = [cell["key"] for cell in table["cells"]
               if cell["width"] <= 0 or cell["left"] < 0 or cell["right"] > found["viewport"] + 0.5]
        if off or not keys & {"status", "date", "action"}:
            out.append(f"{path} @ {width}: table #{table['table']}'s first row shows {sorted(keys)}, off screen {off}")
    for button in page.evaluate(PRIMARY_JS):
        if button["height"] < 43.5:
            out.append(f"{path} @ {width}: primary action {button['text']!r} is {button['height']:.0f} px high")
    return out


def check(page, paths: list[str]) -> None:
    """Every page at 390 × 844 and at 360 wide; one failure listing every problem found."""
    found = []
    for viewport in (PHONE, NARROW):
        page.set_viewport_size(viewport)
        for path in paths:
            found += problems(page, path)
    assert not found, "\n".join(found)


def test_partner_pages_fit_a_phone(new_page):
    page = login(new_page(viewport=PHONE), "installer@example.com", lang="en")
    paths = partner_pages(page)
    assert len(paths) >= 10  # home, list, an opportunity, the history tabs, notifications, account
    check(page, paths)


def test_manager_list_and_history_fit_a_phone(new_page):
    page = login(new_page(viewport=PHONE), "manager@example.com", lang="en")
    check(page, manager_pages())
    # The filters fold away on a phone, unless one is in use; a desktop shows them.
    page.goto("/opportunities")
    assert page.locator("details.filterbox").evaluate("d => d.open") is False
    assert page.locator("#opp-table tbody tr").first.is_visible()
    page.locator("details.filterbox > summary").click()
    assert page.locator("input#q").is_visible()
    page.goto("/opportunities?q=a")
    assert page.locator("details.filterbox").evaluate("d => d.open") is True
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/opportunities")
    assert page.locator("input#q").is_visible()
    assert not page.locator("details.filterbox > summary").is_visible()


def test_designer_stacks_on_a_phone(new_page):
    page = login(new_page(viewport=PHONE), "admin@example.com", lang="en")
    board = designer_page(page)
    check(page, [board])
    # The states stack: each column starts under the previous one, and spans the board's width.
    boxes = page.locator(".state-col").evaluate_all("cols => cols.map(c => c.getBoundingClientRect().toJSON())")
    assert len(boxes) >= 2
    assert all(b["top"] >= a["bottom"] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
    assert all(b["right"] <= PHONE["width"] for b in boxes), boxes
