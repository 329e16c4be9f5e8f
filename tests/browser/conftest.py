"""Browser tests: Playwright for Python driving Debian's Chromium against a live server with the demo data.

Fixtures, for any test under tests/browser/ (each is marked `browser` automatically):

- `live_server` (session): the app on a fresh SQLite file with services.demo.load(), served over real HTTP
  on a free loopback port; `.url` to visit, `.app` for `with live_server.app.app_context():` look-ups.
  The data is shared by the whole session: a test that changes something (opens a substate, switches a
  user's language — which is saved on the user's profile) must not rely on what another test left behind,
  so set the state you assert on (e.g. `login(page, email, lang="en")`).
- `browser` (session): Chromium from /usr/bin/chromium (never Playwright's own download).
- `new_page(**context_options)`: a page in a new context (its own cookies), base_url set to the server, so
  `page.goto("/opportunities")` works; locale en-US unless given, e.g. `new_page(locale="it-IT")`.
- `page`: `new_page()` for the common case.
- `login(page, email, password=None, lang=None)` and `switch_language(page, lang)` from
  tests.browser.support: log in through the form (demo password by default) and use the header switcher.

Chromium missing: every `browser` test is skipped with the reason below, or fails with it when
OPPFLOW_REQUIRE_BROWSER=1 (set by .ci/run, so CI can never pass without running them).
"""

import os
from pathlib import Path

import pytest

from tests.browser.support import (
    CHROMIUM_MISSING,
    chromium_available,
    demo_app,
    launch_chromium,
    start_server,
)
from tests.ports import closed_port

HERE = Path(__file__).resolve().parent


def _browser_required() -> bool:
    return os.environ.get("OPPFLOW_REQUIRE_BROWSER") == "1"


def _fail_missing_chromium() -> None:
    pytest.fail(CHROMIUM_MISSING)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark this folder's tests `browser`; without Chromium skip them, or make them fail when required."""
    for index, item in enumerate(items):
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") is None or chromium_available():
            continue
        if not _browser_required():
            item.add_marker(pytest.mark.skip(reason=CHROMIUM_MISSING))
            continue
        # Same test id, but a body that fails at once: reported FAILED (not a setup ERROR) with the
        # reason, and without starting a server for a browser that cannot run.
        stand_in = pytest.Function.from_parent(item.parent, name=item.name, callobj=_fail_missing_chromium)
        stand_in.add_marker(pytest.mark.browser)
        items[index] = stand_in


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, redis_url):
    """The demo data on a fresh SQLite file, served by werkzeug on a free loopback port."""
    with closed_port() as smtp_port:  # the demo's emails fail the same way whatever listens on 8025
        app = demo_app(tmp_path_factory.mktemp("live") / "oppflow.db", redis_url, smtp_port)
        server = start_server(app)
        yield server
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session; each test gets its own context (cookies, locale) from new_page."""
    if not chromium_available():  # used from outside this folder without the `browser` marker
        (pytest.fail if _browser_required() else pytest.skip)(CHROMIUM_MISSING)
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default, apart from the context's 15 s: on a loaded CI machine (two browsers,
    # two servers and the HTML checker on 2 cores) one POST and its swap took longer. Waits end as soon
    # as the condition holds, so a passing run is no slower.
    expect.set_options(timeout=15000)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Factory: a page in a fresh context on the live server; keyword arguments go to new_context."""
    contexts = []

    def make(**context_options):
        options = {"locale": "en-US", "viewport": {"width": 1280, "height": 800}, **context_options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(15000)  # a loaded CI machine: two browsers and two servers on 2 cores
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh en-US context on the live server."""
    return new_page()
