"""Settings access: every settings route by role, CSRF, unknown ids (SPEC S6, D9-like checks)."""

import pytest

from extensions import db
from models import (
    CustomField,
    ExportTemplate,
    Location,
    ReportTemplate,
    UserPermission,
)
from tests.settings_support import snapshot, user_data

# --- access: every settings route -------------------------------------------------------------------------

ROUTES = [
    ("GET", "/settings/users"),
    ("GET", "/settings/users/new"),
    ("POST", "/settings/users/new"),
    ("GET", "/settings/users/{user}"),
    ("POST", "/settings/users/{user}"),
    ("GET", "/settings/partners"),
    ("GET", "/settings/partners/new"),
    ("POST", "/settings/partners/new"),
    ("GET", "/settings/partners/{company}"),
    ("POST", "/settings/partners/{company}"),
    ("GET", "/settings/channels"),
    ("POST", "/settings/channels/new"),
    ("GET", "/settings/channels/{channel}"),
    ("POST", "/settings/channels/{channel}"),
    ("POST", "/settings/channels/{channel}/activate"),
    ("POST", "/settings/channels/{channel}/deactivate"),
    ("POST", "/settings/channels/{channel}/delete"),
    ("GET", "/settings/activity-types"),
    ("POST", "/settings/activity-types/new"),
    ("GET", "/settings/activity-types/{activity_type}"),
    ("POST", "/settings/activity-types/{activity_type}"),
    ("POST", "/settings/activity-types/{activity_type}/activate"),
    ("POST", "/settings/activity-types/{activity_type}/deactivate"),
    ("GET", "/settings/locations"),
    ("POST", "/settings/locations/new"),
    ("GET", "/settings/locations/{location}"),
    ("POST", "/settings/locations/{location}"),
    ("POST", "/settings/locations/{location}/activate"),
    ("POST", "/settings/locations/{location}/deactivate"),
    ("GET", "/settings/holidays"),
    ("POST", "/settings/holidays/new"),
    ("POST", "/settings/holidays/national"),
    ("GET", "/settings/holidays/{holiday}"),
    ("POST", "/settings/holidays/{holiday}"),
    ("POST", "/settings/holidays/{holiday}/delete"),
    ("GET", "/settings/users/{user}/absences"),
    ("POST", "/settings/users/{user}/absences"),
    ("POST", "/settings/users/{user}/absences/{absence}/delete"),
    ("GET", "/settings/assignment-criteria"),
    ("GET", "/settings/assignment-criteria/new"),
    ("POST", "/settings/assignment-criteria/new"),
    ("GET", "/settings/assignment-criteria/{rule}"),
    ("POST", "/settings/assignment-criteria/{rule}"),
    ("POST", "/settings/assignment-criteria/{rule}/activate"),
    ("POST", "/settings/assignment-criteria/{rule}/deactivate"),
    ("POST", "/settings/assignment-criteria/{rule}/delete"),
    ("GET", "/settings/smtp-credentials"),
    ("GET", "/settings/smtp-credentials/new"),
    ("POST", "/settings/smtp-credentials/new"),
    ("GET", "/settings/smtp-credentials/{smtp}"),
    ("POST", "/settings/smtp-credentials/{smtp}"),
    ("POST", "/settings/smtp-credentials/{smtp}/delete"),
    ("POST", "/settings/smtp-credentials/test"),
    ("POST", "/settings/smtp-credentials/{smtp}/test"),
    ("GET", "/settings/email-templates"),
    ("GET", "/settings/email-templates/new"),
    ("POST", "/settings/email-templates/new"),
    ("GET", "/settings/email-templates/{email_template}"),
    ("POST", "/settings/email-templates/{email_template}"),
    ("POST", "/settings/email-templates/{email_template}/delete"),
    ("POST", "/settings/email-templates/preview"),
    ("GET", "/settings/report-templates"),
    ("GET", "/settings/report-templates/new"),
    ("POST", "/settings/report-templates/new"),
    ("GET", "/settings/report-templates/{report_template}"),
    ("POST", "/settings/report-templates/{report_template}"),
    ("POST", "/settings/report-templates/{report_template}/delete"),
    ("POST", "/settings/report-templates/preview"),
    ("GET", "/settings/export-templates"),
    ("GET", "/settings/export-templates/new"),
    ("POST", "/settings/export-templates/new"),
    ("GET", "/settings/export-templates/{export_template}"),
    ("POST", "/settings/export-templates/{export_template}"),
    ("POST", "/settings/export-templates/{export_template}/delete"),
    ("GET", "/settings/external-sources"),
    ("GET", "/settings/external-sources/new"),
    ("POST", "/settings/external-sources/new"),
    ("POST", "/settings/external-sources/{source}/secret"),
    ("POST", "/settings/external-sources/{source}/delete"),
    ("GET", "/settings/external-sources/actions/new"),
    ("POST", "/settings/external-sources/actions/new"),
    ("GET", "/settings/external-sources/actions/{external_action}"),
    ("POST", "/settings/external-sources/actions/{external_action}"),
    ("POST", "/settings/external-sources/actions/{external_action}/delete"),
    ("GET", "/settings/esignature"),
    ("POST", "/settings/esignature"),
    ("GET", "/settings/custom-fields"),
    ("GET", "/settings/custom-fields/new"),
    ("POST", "/settings/custom-fields/new"),
    ("GET", "/settings/custom-fields/{custom_field}"),
    ("POST", "/settings/custom-fields/{custom_field}"),
    ("POST", "/settings/custom-fields/{custom_field}/move"),
    ("POST", "/settings/custom-fields/{custom_field}/archive"),
    ("POST", "/settings/custom-fields/{custom_field}/unarchive"),
    ("POST", "/settings/custom-fields/{custom_field}/delete"),
    ("GET", "/settings/webhooks"),
    ("POST", "/settings/webhooks/allowed-hosts"),
    ("GET", "/settings/webhooks/new"),
    ("POST", "/settings/webhooks/new"),
    ("GET", "/settings/webhooks/{webhook}"),
    ("POST", "/settings/webhooks/{webhook}"),
    ("POST", "/settings/webhooks/{webhook}/secret"),
    ("POST", "/settings/webhooks/{webhook}/delete"),
    ("POST", "/settings/webhooks/{webhook}/test"),
    ("GET", "/settings/webhooks/{webhook}/deliveries"),
    ("POST", "/settings/webhooks/deliveries/{webhook_delivery}/redeliver"),
]


@pytest.fixture
def targets(make):
    company = make.company(name="Target Srl")
    return {"user": make.user("agent", name="Target User").id, "company": company.id,
            "channel": make.channel("Target channel").id, "activity_type": make.activity_type("Target type").id,
            "rule": make.rule(companies=[company]).id, "smtp": make.smtp("Target SMTP").id,
            "email_template": make.email_template("Target template").id,
            "report_template": _record(ReportTemplate(label="Target report", html="<p>x</p>")),
            "export_template": _record(ExportTemplate(name="Target export", columns=["name"])),
            "source": _source_id(), "external_action": make.external_action("Target action").id,
            "location": _record(Location(name="Target room", name_i18n={}, active=True)),
            "custom_field": _record(CustomField(key="target", name="Target field", name_i18n={},
                                                field_type="text", options=[])),
            **_webhook_ids(), **_days_off()}


def _days_off() -> dict:
    """A holiday, and an absence of the target user (the last user made)."""
    from datetime import date

    from sqlalchemy import select

    from models import Absence, Holiday, User

    user = db.session.execute(select(User).where(User.name == "Target User")).scalar_one()
    return {"holiday": _record(Holiday(day=date(2026, 12, 25), name="Target holiday", name_i18n={})),
            "absence": _record(Absence(user_id=user.id, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 2)))}


def _source_id() -> int:
    from services.external_sources import create_source

    source, _secret = create_source("target", "Target source")
    db.session.commit()
    return source.id


def _webhook_ids() -> dict:
    from tests.webhook_support import seed_webhook

    sub, delivery = seed_webhook()
    return {"webhook": sub.id, "webhook_delivery": delivery.id}


def _record(record) -> int:
    db.session.add(record)
    db.session.commit()
    return record.id


def test_routes_list_covers_every_settings_endpoint(app):
    placeholders = {"{user}": "<int:user_id>", "{company}": "<int:company_id>", "{channel}": "<int:channel_id>",
                    "{activity_type}": "<int:type_id>", "{rule}": "<int:rule_id>", "{smtp}": "<int:cred_id>",
                    "{email_template}": "<int:template_id>", "{report_template}": "<int:template_id>",
                    "{export_template}": "<int:template_id>", "{source}": "<int:source_id>",
                    "{external_action}": "<int:action_id>", "{location}": "<int:location_id>",
                    "{custom_field}": "<int:field_id>", "{webhook}": "<int:subscription_id>",
                    "{webhook_delivery}": "<int:delivery_id>", "{holiday}": "<int:holiday_id>",
                    "{absence}": "<int:absence_id>"}
    listed = set()
    for method, url in ROUTES:
        for key, arg in placeholders.items():
            url = url.replace(key, arg)
        listed.add((method, url))
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("settings.") and rule.endpoint != "settings.index"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == listed


def _refused(client, targets, routes, expected: int, data: dict, **kwargs) -> list:
    """Each route answered with `expected` and the data unchanged, or what went wrong: (method, url, status,
    whether it changed data). One app and one set of targets for all routes: a route that changed something
    is named, and the check goes on from the changed data."""
    wrong = []
    for method, url in routes:
        before = snapshot()
        response = client.open(url.format(**targets), method=method, data=data, **kwargs)
        changed = snapshot() != before
        if response.status_code != expected or changed:
            wrong.append((method, url, response.status_code, changed))
    return wrong


def test_admin_opens_every_settings_page(client, admin, targets):
    wrong = [(url, status) for url in (url for method, url in ROUTES if method == "GET")
             if (status := client.get(url.format(**targets)).status_code) != 200]
    assert wrong == []


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_internal_users_without_settings_manage_get_403(client, make, targets, role):
    client.login(make.user(role))
    assert _refused(client, targets, ROUTES, 403, {"name": "Changed", "role": "admin"}) == []


def test_partner_users_get_404(client, make, targets):
    client.login(make.partner())
    assert _refused(client, targets, ROUTES, 404, {"name": "Changed", "role": "admin"}) == []


def test_anonymous_is_sent_to_login(client, targets):
    wrong = []
    for method, url in ROUTES:
        response = client.open(url.format(**targets), method=method, data={})
        if not (response.status_code == 302 and "/login" in response.location):
            wrong.append((method, url, response.status_code))
    assert wrong == []


def test_granted_settings_manage_opens_the_pages(client, make):
    manager = make.user("manager")
    client.login(manager)
    assert client.get("/settings/users").status_code == 403
    manager.granted = [UserPermission(name="settings.manage")]
    db.session.commit()
    assert client.get("/settings/users").status_code == 200
    assert "/settings/users" in client.get("/settings/").get_data(as_text=True)


def test_posts_without_csrf_token_are_refused(client, admin, targets):
    posts = [r for r in ROUTES if r[0] == "POST"]
    assert _refused(client, targets, posts, 400, user_data(name="Sneaky"), csrf=False) == []


@pytest.mark.parametrize("kind", ["user", "company", "channel"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_ids_are_404(client, admin, kind, method):
    url = {"user": "/settings/users/9999", "company": "/settings/partners/9999",
           "channel": "/settings/channels/9999"}[kind]
    assert client.open(url, method=method, data={"name": "x"}).status_code == 404
    if kind == "channel" and method == "POST":
        for action in ["activate", "deactivate", "delete"]:
            assert client.post(f"{url}/{action}").status_code == 404


def test_settings_home_shows_tiles_by_permission(client, make):
    admin = make.user("admin")
    client.login(admin)
    body = client.get("/settings/").get_data(as_text=True)
    for url in ["/settings/users", "/settings/partners", "/settings/channels"]:
        assert f'href="{url}"' in body
    client.post("/logout")
    client.login(make.user("manager"))
    response = client.get("/settings/")
    assert response.status_code == 200
    assert 'href="/settings/users"' not in response.get_data(as_text=True)
    client.post("/logout")
    client.login(make.partner())
    assert client.get("/settings/").status_code == 404
