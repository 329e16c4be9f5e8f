"""What the phone test and docs/make_phone_screenshots.py share: the pages a partner (and a manager) uses on a
phone, and one in-page audit of a page as a phone shows it (sideways scroll, small tap targets, small text)."""

import re

PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}

# The audit runs in the page: what a phone user would meet, measured the way the outside probe measured it.
# Targets: every visible link, button, input, select, textarea and <summary> (WCAG 2.2 §2.5.8: 24 × 24 px).
# Text: every visible non-blank text node's computed font size (at least 12 px).
AUDIT_JS = """() => {
  const shown = el => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden') return false;
    }  // (the body of a closed <details> has no box, so the size check below leaves it out)
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const label = el => (el.getAttribute('aria-label') || el.textContent || el.value || el.name || el.tagName)
    .trim().replace(/\\s+/g, ' ').slice(0, 40);
  const small = [];
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 23.5 || r.height < 23.5)
      small.push(`${el.tagName.toLowerCase()} "${label(el)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  let minFont = 999, tinyText = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !shown(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    minFont = Math.min(minFont, size);
    if (size < 12) tinyText.push(`"${node.textContent.trim().slice(0, 30)}" ${size}px`);
  }
  const hidden = [...document.querySelectorAll('table.table, .flow')].map(t => t.scrollWidth - t.clientWidth);
  return {url: location.pathname, width: document.documentElement.scrollWidth, viewport: window.innerWidth,
          small, minFont, tinyText, tableHidden: Math.max(0, ...hidden)};
}"""

# Each table's first row: are its status, date and action cells (those the templates mark) on screen?
FIRST_ROWS_JS = """() => [...document.querySelectorAll('table.table')].filter(t => t.offsetParent).map(t => {
  const row = t.querySelector('tbody tr');
  if (!row) return null;
  const cells = [...row.querySelectorAll('td[data-key]')];
  return {table: t.closest('[id]')?.id || '', cells: cells.map(td => {
    const r = td.getBoundingClientRect();
    return {key: td.dataset.key, left: r.left, right: r.right, width: r.width};
  })};
}).filter(Boolean)"""


def partner_pages(page) -> list[str]:
    """The partner's pages, from their home: home, opportunity list, one opportunity (one with an assignment to
    answer when there is one), every history tab, notifications and the account page."""
    page.goto("/partner")
    answer = page.locator("#new-assignments a[href*='/opportunities/']")
    listed = page.locator("table.table a[href*='/opportunities/']")
    opp = (answer if answer.count() else listed).first.get_attribute("href").split("#")[0]
    page.goto("/account/history")
    tabs = [a.get_attribute("href") for a in page.locator("nav.tabs a").all()]
    return ["/partner", "/opportunities", opp, *tabs, "/notifications", "/account"]


def manager_pages() -> list[str]:
    """The manager's pages the phone work covers: the opportunity list and the action history."""
    return ["/opportunities", "/account/history"]


def designer_page(page) -> str:
    """The flow designer's board of the first opportunity type (for a user who may open Settings)."""
    page.goto("/settings/types")
    return page.locator("main a[href^='/settings/types/']").first.get_attribute("href")


def slug(path: str) -> str:
    """A file-name-safe name for a page's path, e.g. /account/history/email → account_history_email."""
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "home"
