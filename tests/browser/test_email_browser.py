"""Settings → Email templates and SMTP credentials in Chromium: the htmx preview renders inside its
sandboxed iframe under the page's CSP, a sandbox escape is refused at save, and "Test connection"
answers in plain words."""

import socket
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import EmailTemplate
from tests.browser.support import login

pytestmark = pytest.mark.browser

ADMIN = "admin@example.com"


@pytest.fixture
def page(new_page):
    """A page that fails the test on any script error (CSP violations included) or unexpected failed request."""
    page = new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.status != 422 and not r.url.endswith("/favicon.ico") else None)
    yield page
    assert errors == []


def test_preview_in_the_chosen_language_and_a_sandbox_escape_refused(page, live_server):
    login(page, ADMIN, lang="en")
    page.goto("/settings/email-templates/new")
    name = f"Reminder {uuid.uuid4().hex[:6]}"
    page.fill("input[name=name]", name)
    page.fill("input[name=subject_it]", "Documentazione in sospeso: {{ opportunity.name }}")
    page.fill("textarea[name=body_it]", "<p>Gentile {{ client.name }}, importo {{ opportunity.amount }}</p>")
    page.select_option("select[name=preview_language]", "it")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.locator(".preview-subject")).to_contain_text("Documentazione in sospeso:")
    frame = page.frame_locator("iframe.preview-frame")
    expect(frame.locator("body")).to_contain_text("Gentile")
    expect(frame.locator("body")).to_contain_text("€")

    page.fill("textarea[name=body_it]", "<p>{{ ''.__class__.__mro__ }}</p>")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field.has-error small.error")).to_contain_text(
        "Body in Italian, line 1: “__class__” is not a placeholder that may be used.")
    with live_server.app.app_context():
        assert db.session.execute(select(EmailTemplate).where(EmailTemplate.name == name)).first() is None
        db.session.remove()


def test_test_connection_says_the_server_refused(page):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    login(page, ADMIN, lang="en")
    page.goto("/settings/smtp-credentials/new")
    page.fill("input[name=name]", "Browser test")
    page.fill("input[name=host]", "127.0.0.1")
    page.fill("input[name=port]", str(port))
    page.select_option("select[name=security]", "none")
    page.fill("input[name=from_address]", "noreply@example.com")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#smtp-test")).to_contain_text(f"Connection refused by 127.0.0.1:{port}")
