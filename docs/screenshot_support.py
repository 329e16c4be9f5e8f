"""What the screenshot scripts in docs/ share: a demo server in a temporary directory with the manager
logged in on Chromium, and `shoot`, which saves a full-page PNG under docs/screenshots/."""

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.support import (  # noqa: E402
    CHROMIUM_MISSING,
    chromium_available,
    demo_app,
    launch_chromium,
    login,
    redis_for_script,
    start_server,
)

OUT = ROOT / "docs" / "screenshots"


@contextmanager
def demo_browser(viewport: dict, seed: Callable | None = None, email: str = "manager@example.com") -> Iterator:
    """Yield (page, what `seed(app)` returned) for a live demo server; everything is removed afterwards."""
    if not chromium_available():
        raise SystemExit(CHROMIUM_MISSING)
    missing = [lang for lang in ("it", "es", "en")
               if not (ROOT / f"translations/{lang}/LC_MESSAGES/messages.mo").exists()]
    if missing:
        print(f"warning: no compiled catalog for {', '.join(missing)} (run `make translations`)", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    with redis_for_script() as redis_url, tempfile.TemporaryDirectory() as tmp:
        app = demo_app(Path(tmp) / "oppflow.db", redis_url)
        seeded = seed(app) if seed else None
        server = start_server(app)
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                context = browser.new_context(base_url=server.url, viewport=viewport, locale="en-US")
                yield login(context.new_page(), email), seeded
                browser.close()
        finally:
            server.stop()


def shoot(page, name: str, full_page: bool = True) -> None:
    """Wait for htmx and the network to settle, then save docs/screenshots/<name>."""
    page.wait_for_load_state("networkidle")
    path = OUT / name
    page.screenshot(path=str(path), full_page=full_page)
    print(path.relative_to(ROOT))
