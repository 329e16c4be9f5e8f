"""WCAG 2.2 AA on every page (issue "Partners on phones, and accessibility to WCAG 2.2 AA across every page"):
axe-core (bundled by axe-playwright-python, every rule it runs by default, so best practices too) finds no
violation of any impact on any page of the app's URL map.

The walk builds every GET rule of the URL map with real ids from the demo data (plus one record of each kind
the demo lacks), so a page added later is covered without editing this file; the only routes left out are
in SKIP, each with its reason, and test_every_page_route_is_walked fails when a route is neither a page the
walk reaches nor in SKIP. Pages a role may not open (403/404) or that redirect are not that role's pages.

What runs (kept to a few minutes of CI):
- every page as each role (admin, manager, agent, partner) in English at desktop size (1280×800);
- every page at phone size (390×844) as admin (internal users) and as an installer's user (partners);
- every admin page in Italian or in Spanish (alternately) at desktop size;
- the pages without a login (login form, simulator's signing page, a 404) in it/es/en at desktop and phone size.
"""

import re
import secrets
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from extensions import db
from models import (
    Absence,
    Action,
    ActionRun,
    Activity,
    ActivityType,
    Assignment,
    AssignmentRule,
    Channel,
    CustomField,
    EmailTemplate,
    ExportTemplate,
    ExternalSource,
    ExternalSourceAction,
    Holiday,
    Location,
    LongJob,
    Opportunity,
    PartnerCompany,
    ProcessAutomation,
    ReportTemplate,
    SignatureRequest,
    SmtpCredential,
    Substate,
    Task,
    Trigger,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from services import api_tokens, history
from services import secrets as secret_svc
from services import tasks as task_svc
from services.demo import DEMO_PASSWORD
from tests.browser.support import login

pytestmark = pytest.mark.browser

USERS = {"admin": "admin@example.com", "manager": "manager@example.com", "agent": "agent@example.com",
         "partner": "installer@example.com"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# GET routes that are not HTML pages a person opens; everything else in the URL map is walked.
SKIP = {
    "static": "CSS, JS and images",
    "opportunities.file_download": "a download (the file as an attachment)",
    "designer.export_type": "a download (the flow as a JSON file; tests/test_flow_transfer.py)",
    "public.sign_document": "the PDF to sign",
    "history.bell": "htmx-only fragment: the header bell's count, polled (it is part of every page walked)",
    "designer.kind_fields": "htmx-only fragment: an action kind's fields (the action forms walked show them)",
    "designer.trigger_fields": "htmx-only fragment: a trigger type's fields (the trigger forms walked show them)",
    "auth.index": "redirects to the user's home page",
    "history.index": "redirects to the first history tab (every tab is walked)",
    "calendar.feed": "the iCalendar file calendar apps subscribe to (tests/test_calendar_feed.py)",
    "opportunities.fields": "htmx-only fragment: the opportunity's Fields panel (the opportunity page shows it)",
    "opportunities.actions_panel": "htmx-only fragment: the Automatic actions panel (the opportunity page loads it)",
    "automations.substates": "htmx-only fragment: a sales process's step picker (the configurator shows it)",
    "api-docs.openapi_json": "the OpenAPI document (JSON); its reference page /api/docs is walked",
}
# The JSON API (SPEC P4): token-only JSON, no pages (tests/test_api_schema.py checks it against its document).
API_PREFIX = "/api/v1/"
# Pages without a login, walked by test_public_pages_pass_axe.
PUBLIC = {"auth.login", "public.sign_page"}

_axe = Axe()


@pytest.fixture(scope="module")
def walk(live_server):
    """{role: [url, ...]} for every page route, ids from the demo data; the role's own opportunity for partners."""
    app = live_server.app
    with app.app_context():
        token = _add_missing_records()
        first = _first_ids()
        partner = db.session.execute(select(User).where(User.email == USERS["partner"])).scalar_one()
        own = db.session.execute(select(Opportunity).where(Opportunity.installer_id == partner.company_id)
                                 .order_by(Opportunity.id)).scalars().first()
    ids = {role: dict(first) for role in USERS}
    ids["partner"].update(opp_id=own.id, opportunity_id=own.id, customer_id=own.customer_id)
    rules = [r for r in app.url_map.iter_rules()
             if "GET" in r.methods and r.endpoint not in SKIP and not r.rule.startswith(API_PREFIX)]
    built = {role: [url for rule in rules if rule.endpoint not in PUBLIC for url in _build(rule, ids[role], token)]
             for role in USERS}
    # Which of them are the role's pages, asked cheaply through a test client before any browser walks them.
    urls = {role: _pages_of(app, USERS[role], built[role]) for role in USERS}
    urls["public"] = [url for rule in rules if rule.endpoint in PUBLIC for url in _build(rule, first, token)]
    urls["public"].append("/no-such-page")
    # A route counts as walked when some role opens one of its urls (a partner's own opportunity is not an
    # admin's first one: each role's urls differ).
    walked = {url for role in USERS for url in urls[role]}
    endpoint_of = {url: rule.endpoint for role in USERS for rule in rules if rule.endpoint not in PUBLIC
                   for url in _build(rule, ids[role], token)}
    walked_endpoints = {endpoint_of[url] for url in walked if url in endpoint_of}
    not_walked = {url for role in USERS for url in built[role] if endpoint_of[url] not in walked_endpoints}
    return {"urls": urls, "not_walked": sorted(not_walked)}


def _pages_of(app, email: str, urls: list[str]) -> list[str]:
    """The urls that answer this user with an HTML page (not a 403/404, a redirect or a file)."""
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    answer = client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 302, f"{email} could not log in"
    pages = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages.append(url)
    return pages


def _add_missing_records() -> str:
    """One record of each kind the demo lacks, so their edit pages are walked too; the signing page's token."""
    db.session.add_all([
        ReportTemplate(label="A11y report", html="<h1>{{ opportunity.name }}</h1>"),
        ExportTemplate(name="A11y export", columns=["name"]),
        Location(name="A11y room", name_i18n={}, address="Via Roma 1", active=True),
        ExternalSource(name="a11y-esign", label="E-signature", secret_encrypted=secret_svc.encrypt("s3cret")),
    ])
    db.session.flush()
    sub = db.session.execute(select(Substate).order_by(Substate.id)).scalars().first()
    db.session.add(ExternalSourceAction(name="A11y on signed", source_name="a11y-esign",
                                        actions=[{"op": "open", "substate_id": sub.id}]))
    action = db.session.execute(select(Action).order_by(Action.id)).scalars().first()
    db.session.add(Trigger(substate_id=action.substate_id, kind="task_status", name="A11y trigger",
                           config={"status": "completed"}))
    opp = db.session.execute(select(Opportunity).order_by(Opportunity.id)).scalars().first()
    # A task on the partner's opportunity, the partner taking part: its page, with the status form, for every role.
    partner = db.session.execute(select(User).where(User.email == USERS["partner"])).scalar_one()
    own = db.session.execute(select(Opportunity).where(Opportunity.installer_id == partner.company_id)
                             .order_by(Opportunity.id)).scalars().first()
    agent = db.session.execute(select(User).where(User.email == USERS["agent"])).scalar_one()
    task_svc.create_task(own, "A11y task", "Check the roof.", responsible_id=agent.id, participants=[partner.id],
                         substate_id=own.type.substates[0].id)
    # API tokens of every walking user, one used, one revoked: the token page's table is walked, not its empty state.
    for email in USERS.values():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        used, _plain = api_tokens.create_token(user, "A11y integration", {"read", "write"}, 90)
        used.last_used_at, used.last_used_ip = used.created_at, "192.0.2.10"
        api_tokens.revoke(api_tokens.create_token(user, "A11y old script", {"read"}, 30)[0])
    token = secrets.token_urlsafe(32)
    db.session.add(SignatureRequest(opportunity_id=opp.id, source_name="a11y-esign", provider="simulator",
                                    reference=token, signer_email="s@example.com", status="sent",
                                    document_name="d.pdf", document=b"%PDF-1.4", document_sha256="0" * 64))
    db.session.commit()
    from tests.webhook_support import seed_webhook

    seed_webhook()  # Settings → Webhooks: a subscription with a delivery in its log
    # Work in the background: the admin's finished bulk retry (its page, and the list at /work).
    admin = db.session.execute(select(User).where(User.email == USERS["admin"])).scalar_one()
    db.session.add(LongJob(kind="bulk_retry", user_id=admin.id, params={}, total=3, done=3, status="done",
                           result={"retried": 3}))
    db.session.commit()
    return token


def _first_ids() -> dict[str, int]:
    def first(model, *where):
        return db.session.execute(select(model.id).where(*where).order_by(model.id)).scalars().first()

    # The designer's URLs name a type with its own state, substate and action: the first action's.
    action = db.session.execute(select(Action).order_by(Action.id)).scalars().first()
    sub = action.substate
    opp = db.session.execute(select(Opportunity).where(Opportunity.type_id == sub.state.type_id)
                             .order_by(Opportunity.id)).scalars().first()
    return {
        "opp_id": opp.id, "opportunity_id": opp.id, "customer_id": opp.customer_id, "type_id": sub.state.type_id,
        "substate_id": sub.id, "state_id": sub.state_id,
        "action_id": action.id, "activity_id": first(Activity), "assignment_id": first(Assignment),
        "run_id": first(ActionRun), "rule_id": first(AssignmentRule), "channel_id": first(Channel),
        "source_id": first(ExternalSource), "company_id": first(PartnerCompany),
        "cred_id": first(SmtpCredential), "user_id": first(User, User.role == "agent"), "file_id": 1,
        "task_id": first(Task, Task.title == "A11y task"),
        # The same parameter name means another table on these pages.
        "activity_type": first(ActivityType), "email_template": first(EmailTemplate),
        "report_template": first(ReportTemplate), "export_template": first(ExportTemplate),
        "external_action": first(ExternalSourceAction), "trigger_id": first(Trigger),
        "location_id": first(Location), "field_id": first(CustomField), "automation_id": first(ProcessAutomation),
        "subscription_id": first(WebhookSubscription), "delivery_id": first(WebhookDelivery),
        "job_id": first(LongJob),
        # The demo's holidays, and its agent's absence (the agent is `user_id` above).
        "holiday_id": first(Holiday), "absence_id": first(Absence),
    }


def _build(rule, ids: dict, token: str) -> list[str]:
    """The rule's URLs: one, or one per history tab (each tab is a page of its own)."""
    if "tab" in rule.arguments:
        return [rule.build({"tab": key}, append_unknown=False)[1] for key in sorted(history.TABS)]
    values = {}
    for arg in rule.arguments:
        if arg == "template_id":
            values[arg] = ids[next(r for r in ("email_template", "report_template", "export_template")
                                   if r in rule.endpoint)]
        elif arg == "type_id" and rule.endpoint.startswith("settings.activity_type"):
            values[arg] = ids["activity_type"]
        elif arg == "action_id" and rule.endpoint.startswith("settings.external_action"):
            values[arg] = ids["external_action"]
        elif arg == "token":
            values[arg] = token
        else:
            values[arg] = ids[arg]
    return [rule.build(values, append_unknown=False)[1]]


def _violations(page, url: str) -> list[str] | None:
    """axe's violations on the page at url, one line per rule and node; None when it is not this user's page."""
    response = page.goto(url)
    if response is None or response.status != 200 and url != "/no-such-page":
        return None
    if urlsplit(page.url).path != urlsplit(url).path or "text/html" not in response.headers.get("content-type", ""):
        return None  # the public walk's pages only: the others were chosen as the role's pages
    # The header's bell loads itself once the page is there: check the page as the user sees it.
    page.wait_for_function("() => !document.querySelector('[hx-trigger=load]')")
    results = _axe.run(page)
    found = []
    for violation in results.response["violations"]:
        for node in violation["nodes"]:
            found.append(f"{url}: {violation['id']} ({violation['impact']}) {node['target']} "
                         f"{node.get('failureSummary', '').splitlines()[-1:]}")
    return found


def _walk(page, urls: list[str]) -> tuple[list[str], int]:
    found, checked = [], 0
    for url in urls:
        result = _violations(page, url)
        if result is not None:
            checked += 1
            found.extend(result)
    return found, checked


@pytest.mark.parametrize("role", list(USERS))
def test_every_page_passes_axe_as_each_role(new_page, walk, role):
    page = new_page(viewport=DESKTOP)
    login(page, USERS[role], lang="en")
    found, checked = _walk(page, walk["urls"][role])
    assert checked >= (3 if role == "partner" else 8)
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("role", ["admin", "partner"])
def test_every_page_passes_axe_on_a_phone(new_page, walk, role):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, USERS[role], lang="en")
    found, checked = _walk(page, walk["urls"][role])
    assert checked >= 3
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("lang", ["it", "es"])
def test_every_page_passes_axe_in_italian_and_spanish(new_page, walk, lang):
    """Every admin page in one of the two (alternately): the templates and their checks are the same in each
    language, what differs is the words, and each page's words are checked in a language that is not English."""
    page = new_page(viewport=DESKTOP)
    login(page, USERS["admin"], lang=lang)
    found, checked = _walk(page, walk["urls"]["admin"][("it", "es").index(lang)::2])
    assert checked >= 4
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("lang", ["it", "es", "en"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_public_pages_pass_axe(new_page, walk, lang, viewport):
    page = new_page(viewport=viewport, locale={"it": "it-IT", "es": "es-ES", "en": "en-US"}[lang])
    found, checked = _walk(page, walk["urls"]["public"])
    assert checked == len(walk["urls"]["public"])
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


def test_every_page_route_is_walked(walk):
    """A GET route that is not in SKIP must be a page some role opens, so the walks above cover it."""
    assert not walk["not_walked"], "routes no role opens as a page: fix their ids here or add them to SKIP:\n" + \
        "\n".join(walk["not_walked"])
