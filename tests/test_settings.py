"""Settings: users, partner companies, channels, roles and permissions (SPEC S6, S7, S8, S9)."""

from datetime import time

import pytest
from sqlalchemy import func, select

from extensions import db
from models import (
    Action,
    AssignmentRule,
    Channel,
    ExportTemplate,
    PartnerCompany,
    ReportTemplate,
    User,
    UserPermission,
)
from services import users as user_svc
from services.validation import InvalidData


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh() -> None:
    """Forget what this session holds: read what the requests committed, nothing else."""
    db.session.rollback()
    db.session.expire_all()


def user_data(**changes) -> dict:
    data = {"name": "Giulia Neri", "email": "giulia@example.com", "role": "agent", "company_id": "",
            "language": "it", "supervisor_id": "", "timezone": "Europe/Rome", "work_start": "08:30",
            "work_end": "17:00", "work_days": ["1", "2", "3", "4", "5"], "active": "y",
            "password": "s3cret-pass", "extra_permissions": []}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(user: User, **changes) -> dict:
    """The edit form as the page would post it for this user, with some fields changed."""
    data = user_data(name=user.name, email=user.email, role=user.role, company_id=user.company_id or "",
                     language=user.language or "", supervisor_id=user.supervisor_id or "",
                     timezone=user.timezone, work_start=user.work_start.strftime("%H:%M"),
                     work_end=user.work_end.strftime("%H:%M"), work_days=list(user.work_days),
                     active="y" if user.active else None, password="",
                     extra_permissions=[g.name for g in user.granted])
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(client, make):
    user = make.user("admin", name="Ada Admin")
    client.login(user)
    return user


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
            "source": _source_id(), "external_action": make.external_action("Target action").id}


def _source_id() -> int:
    from services.external_sources import create_source

    source, _secret = create_source("target", "Target source")
    db.session.commit()
    return source.id


def _record(record) -> int:
    db.session.add(record)
    db.session.commit()
    return record.id


def snapshot():
    fresh()
    return (
        [(u.name, u.email, u.role, u.active, u.password_hash) for u in db.session.scalars(select(User).order_by(User.id))],
        [(c.name, c.active) for c in db.session.scalars(select(PartnerCompany).order_by(PartnerCompany.id))],
        [(c.name, c.active) for c in db.session.scalars(select(Channel).order_by(Channel.id))],
    )


def test_routes_list_covers_every_settings_endpoint(app):
    placeholders = {"{user}": "<int:user_id>", "{company}": "<int:company_id>", "{channel}": "<int:channel_id>",
                    "{activity_type}": "<int:type_id>", "{rule}": "<int:rule_id>", "{smtp}": "<int:cred_id>",
                    "{email_template}": "<int:template_id>", "{report_template}": "<int:template_id>",
                    "{export_template}": "<int:template_id>", "{source}": "<int:source_id>",
                    "{external_action}": "<int:action_id>"}
    listed = set()
    for method, url in ROUTES:
        for key, arg in placeholders.items():
            url = url.replace(key, arg)
        listed.add((method, url))
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("settings.") and rule.endpoint != "settings.index"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == listed


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "GET"])
def test_admin_opens_every_settings_page(client, admin, targets, method, url):
    assert client.get(url.format(**targets)).status_code == 200


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role", ["manager", "agent"])
def test_internal_users_without_settings_manage_get_403(client, make, targets, method, url, role):
    client.login(make.user(role))
    before = snapshot()
    response = client.open(url.format(**targets), method=method, data={"name": "Changed", "role": "admin"})
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("method,url", ROUTES)
def test_partner_users_get_404(client, make, targets, method, url):
    client.login(make.partner())
    before = snapshot()
    response = client.open(url.format(**targets), method=method, data={"name": "Changed", "role": "admin"})
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("method,url", ROUTES)
def test_anonymous_is_sent_to_login(client, targets, method, url):
    response = client.open(url.format(**targets), method=method, data={})
    assert response.status_code == 302 and "/login" in response.location


def test_granted_settings_manage_opens_the_pages(client, make):
    manager = make.user("manager")
    client.login(manager)
    assert client.get("/settings/users").status_code == 403
    manager.granted = [UserPermission(name="settings.manage")]
    db.session.commit()
    assert client.get("/settings/users").status_code == 200
    assert "/settings/users" in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "POST"])
def test_posts_without_csrf_token_are_refused(client, admin, targets, method, url):
    before = snapshot()
    response = client.post(url.format(**targets), data=user_data(name="Sneaky"), csrf=False)
    assert response.status_code == 400
    assert snapshot() == before


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


# --- users ----------------------------------------------------------------------------------------------


def test_create_internal_user_with_every_field(client, admin, make):
    boss = make.user("manager", name="Boss")
    response = client.post("/settings/users/new", data=user_data(
        email="Giulia@Example.com", supervisor_id=boss.id, timezone="Europe/Madrid",
        work_days=["1", "3", "5"], extra_permissions=["settings.manage", "customers.edit"]))
    assert response.status_code == 302 and response.location == "/settings/users"
    fresh()
    user = db.session.scalar(select(User).where(User.name == "Giulia Neri"))
    assert (user.email, user.role, user.language, user.timezone) == ("Giulia@Example.com", "agent", "it", "Europe/Madrid")
    assert (user.work_start, user.work_end, user.work_days) == (time(8, 30), time(17, 0), "135")
    assert user.supervisor_id == boss.id and user.company_id is None and user.active
    # Only what the role does not already give is stored as a grant.
    assert {g.name for g in user.granted} == {"settings.manage"}
    assert user.can("settings.manage") and user.can("customers.edit")
    assert user.check_password("s3cret-pass")
    client.post("/logout")
    client.login(user, password="s3cret-pass")
    assert client.get("/settings/users").status_code == 200


def test_empty_language_means_the_browsers(client, admin):
    client.post("/settings/users/new", data=user_data(language=""))
    fresh()
    assert db.session.scalar(select(User.language).where(User.name == "Giulia Neri")) is None


def test_create_partner_user_from_the_company_page(client, admin, make):
    company = make.company("commercial", name="Agenzia Sole")
    page = client.get(f"/settings/partners/{company.id}").get_data(as_text=True)
    assert f"/settings/users/new?company={company.id}" in page
    form = client.get(f"/settings/users/new?company={company.id}").get_data(as_text=True)
    assert '<option selected value="partner">' in form
    assert f'<option selected value="{company.id}">Agenzia Sole</option>' in form
    response = client.post(f"/settings/users/new?company={company.id}",
                           data=user_data(role="partner", company_id=company.id))
    assert response.status_code == 302 and response.location == f"/settings/partners/{company.id}"
    fresh()
    user = db.session.scalar(select(User).where(User.email == "giulia@example.com"))
    assert user.is_partner and user.company_id == company.id and not user.granted
    assert "Giulia Neri" in client.get(f"/settings/partners/{company.id}").get_data(as_text=True)


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "This field is required."),
    ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
    ({"email": ""}, "This field is required."),
    ({"email": "not-an-email"}, "Invalid email address."),
    ({"role": "overlord"}, "Not a valid choice"),
    ({"role": "partner"}, "A partner user must belong to a partner company."),
    ({"company_id": "{company}"}, "Only partner users belong to a partner company."),
    ({"company_id": "abc"}, "Invalid Choice"),
    ({"company_id": "9999", "role": "partner"}, "Not a valid choice"),
    ({"language": "de"}, "Not a valid choice"),
    ({"supervisor_id": "9999"}, "Not a valid choice"),
    ({"supervisor_id": "{partner}"}, "Not a valid choice"),
    ({"timezone": "Mars/Olympus"}, "Unknown time zone"),
    ({"timezone": "../../etc/passwd"}, "Unknown time zone"),
    ({"timezone": ""}, "This field is required."),
    ({"work_start": "25:99"}, "Not a valid time value."),
    ({"work_start": "18:00", "work_end": "09:00"}, "The end of working hours must come after the start."),
    ({"work_start": "09:00", "work_end": "09:00"}, "The end of working hours must come after the start."),
    ({"work_days": []}, "Choose at least one working day."),
    ({"work_days": ["8"]}, "not a valid choice"),
    ({"extra_permissions": ["root.everything"]}, "not a valid choice"),
    ({"password": ""}, "This field is required."),
    ({"password": "short"}, "Field must be between 8 and 128 characters long."),
    ({"role": "partner", "company_id": "{company}", "extra_permissions": ["customers.edit"]},
     "Partner users cannot be given permissions."),
])
def test_invalid_new_user_is_422_with_message_and_nothing_saved(client, admin, make, changes, message):
    company = make.company()
    partner = make.partner()
    ids = {"company": str(company.id), "partner": str(partner.id)}
    changes = {k: v.format(**ids) if isinstance(v, str) else v for k, v in changes.items()}
    users_before = count(User)
    response = client.post("/settings/users/new", data=user_data(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh()
    assert count(User) == users_before


def test_email_is_unique_whatever_its_case(client, admin, make):
    make.user("agent", email="taken@example.com")
    response = client.post("/settings/users/new", data=user_data(email="TAKEN@example.com"))
    assert response.status_code == 422
    assert "Another user already has this email address." in response.get_data(as_text=True)
    other = make.user("agent")
    response = client.post(f"/settings/users/{other.id}", data=edit_data(other, email="Taken@Example.com"))
    assert response.status_code == 422
    fresh()
    assert db.session.get(User, other.id).email != "Taken@Example.com"
    # Keeping one's own address (in another case) is fine.
    response = client.post(f"/settings/users/{other.id}", data=edit_data(other, email=other.email.upper()))
    assert response.status_code == 302


def test_edit_user_keeps_password_unless_a_new_one_is_given(client, admin, make):
    user = make.user("agent", name="Marco Bianchi")
    old_hash = user.password_hash
    page = client.get(f"/settings/users/{user.id}").get_data(as_text=True)
    assert "Marco Bianchi" in page and old_hash not in page and "scrypt" not in page
    response = client.post(f"/settings/users/{user.id}", data=edit_data(user, name="Marco B.", role="manager"))
    assert response.status_code == 302
    fresh()
    user = db.session.get(User, user.id)
    assert (user.name, user.role, user.password_hash) == ("Marco B.", "manager", old_hash)
    response = client.post(f"/settings/users/{user.id}", data=edit_data(user, password="brand-new-pass"))
    assert response.status_code == 302
    fresh()
    assert db.session.get(User, user.id).check_password("brand-new-pass")


def test_invalid_edit_changes_nothing(client, admin, make):
    user = make.user("agent", name="Before")
    response = client.post(f"/settings/users/{user.id}",
                           data=edit_data(user, name="After", timezone="Nowhere/Land", password="new-password"))
    assert response.status_code == 422
    assert 'value="After"' in response.get_data(as_text=True)  # the form keeps what was typed
    fresh()
    user = db.session.get(User, user.id)
    assert user.name == "Before" and user.timezone == "Europe/Rome" and not user.check_password("new-password")


def test_grants_can_be_removed_and_role_permissions_are_shown(client, admin, make):
    user = make.user("agent")
    client.post(f"/settings/users/{user.id}", data=edit_data(user, extra_permissions=["opportunity_states.modify"]))
    fresh()
    user = db.session.get(User, user.id)
    assert user.can("opportunity_states.modify")
    page = client.get(f"/settings/users/{user.id}").get_data(as_text=True)
    assert 'checked id="extra_permissions-0"' in page
    assert page.count("Given by the role") == 2  # an agent's role gives opportunities.edit and customers.edit
    client.post(f"/settings/users/{user.id}", data=edit_data(user, extra_permissions=[]))
    fresh()
    assert not db.session.get(User, user.id).can("opportunity_states.modify")


def test_changing_a_user_to_partner_requires_a_company_and_clears_nothing_else(client, admin, make):
    user = make.user("agent")
    company = make.company()
    response = client.post(f"/settings/users/{user.id}", data=edit_data(user, role="partner"))
    assert response.status_code == 422
    response = client.post(f"/settings/users/{user.id}", data=edit_data(user, role="partner", company_id=company.id))
    assert response.status_code == 302
    fresh()
    user = db.session.get(User, user.id)
    assert user.is_partner and user.company_id == company.id
    response = client.post(f"/settings/users/{user.id}", data=edit_data(user, role="manager"))
    assert response.status_code == 422
    assert "Only partner users belong to a partner company." in response.get_data(as_text=True)


def test_supervisor_cannot_be_the_user_or_form_a_cycle(client, admin, make):
    a = make.user("manager", name="Anna")
    b = make.user("agent", name="Bruno", supervisor=a)
    c = make.user("agent", name="Carla", supervisor=b)
    # Not offered, and refused when posted anyway.
    assert f'value="{a.id}">Anna' not in client.get(f"/settings/users/{a.id}").get_data(as_text=True)
    response = client.post(f"/settings/users/{a.id}", data=edit_data(a, supervisor_id=a.id))
    assert response.status_code == 422
    for supervisor in (b, c):  # Anna supervises Bruno who supervises Carla
        response = client.post(f"/settings/users/{a.id}", data=edit_data(a, supervisor_id=supervisor.id))
        assert response.status_code == 422
        assert "that would be a cycle" in response.get_data(as_text=True)
    fresh()
    assert db.session.get(User, a.id).supervisor_id is None
    # A chain without a loop is fine.
    d = make.user("manager", name="Dario")
    assert client.post(f"/settings/users/{a.id}", data=edit_data(a, supervisor_id=d.id)).status_code == 302


def test_service_refuses_partner_supervisor_and_self_supervision(app, make):
    admin = make.user("admin")
    user = make.user("agent")
    partner = make.partner()
    base = {"name": "X", "email": "x@example.com", "role": "agent", "timezone": "Europe/Rome",
            "work_start": time(9), "work_end": time(18), "work_days": "12345", "active": True}
    with app.test_request_context():
        for bad in (partner.id, user.id):
            with pytest.raises(InvalidData) as err:
                user_svc.update_user(user, {**base, "supervisor_id": bad}, admin)
            assert "supervisor_id" in err.value.errors
        with pytest.raises(InvalidData) as err:
            user_svc.update_user(user, {**base, "role": "partner", "company_id": 9999}, admin)
        assert "company_id" in err.value.errors


def test_admin_cannot_deactivate_or_demote_themselves(client, admin):
    response = client.post(f"/settings/users/{admin.id}", data=edit_data(admin, active=None))
    assert response.status_code == 422
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    response = client.post(f"/settings/users/{admin.id}", data=edit_data(admin, role="manager"))
    assert response.status_code == 422
    assert "You cannot demote yourself" in response.get_data(as_text=True)
    fresh()
    me = db.session.get(User, admin.id)
    assert me.active and me.role == "admin"
    # Editing anything else of one's own account works.
    assert client.post(f"/settings/users/{admin.id}", data=edit_data(me, name="Ada A.")).status_code == 302


def test_manager_with_granted_settings_cannot_drop_their_own_grant(client, make):
    manager = make.user("manager")
    manager.granted = [UserPermission(name="settings.manage")]
    db.session.commit()
    client.login(manager)
    response = client.post(f"/settings/users/{manager.id}", data=edit_data(manager, extra_permissions=[]))
    assert response.status_code == 422
    assert "You cannot remove your own permission to manage settings." in response.get_data(as_text=True)


def test_admin_can_deactivate_another_admin_who_then_cannot_log_in(client, admin, make):
    other = make.user("admin")
    assert client.post(f"/settings/users/{other.id}", data=edit_data(other, active=None)).status_code == 302
    fresh()
    assert not db.session.get(User, other.id).active
    client.post("/logout")
    assert client.post("/login", data={"email": other.email, "password": "correct horse battery"}).status_code == 422


def test_user_list_search_filters_and_pagination(client, admin, make, app):
    company = make.company(name="Installa Spa")
    make.user("partner", company=company, name="Paolo Partner", email="paolo@installa.it")
    make.user("manager", name="Maria Manager", email="maria@example.com")
    body = client.get("/settings/users?q=INSTALLA").get_data(as_text=True)
    assert "Paolo Partner" in body and "Maria Manager" not in body
    body = client.get("/settings/users?q=maria").get_data(as_text=True)
    assert "Maria Manager" in body and "Paolo Partner" not in body
    body = client.get("/settings/users?role=manager").get_data(as_text=True)
    assert "Maria Manager" in body and "Paolo Partner" not in body
    assert f"/settings/users/{admin.id}\"" not in body
    body = client.get(f"/settings/users?company={company.id}").get_data(as_text=True)
    assert "Paolo Partner" in body and "Maria Manager" not in body
    # Junk in the query string is ignored, never an error.
    assert client.get("/settings/users?role=overlord&company=abc&page=xyz").status_code == 200
    for n in range(app.config["PER_PAGE"] + 2):
        make.user("agent", name=f"Zeta {n:02d}")
    total = count(User)
    first = client.get("/settings/users").get_data(as_text=True)
    assert f"{total} users" in first and "Page 1 of 2" in first
    second = client.htmx("GET", "/settings/users?page=2", headers={"HX-Target": "user-table"})
    text = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in text and "Zeta 21" in text


def test_inactive_company_is_not_offered_to_new_users_but_kept_for_its_users(client, admin, make):
    company = make.company(name="Chiusa Srl", active=False)
    member = make.user("partner", company=company)
    assert "Chiusa Srl</option>" not in client.get("/settings/users/new").get_data(as_text=True)
    # The list's filter still offers it: its users are still there to find.
    assert "Chiusa Srl</option>" in client.get("/settings/users").get_data(as_text=True)
    assert "Chiusa Srl</option>" in client.get(f"/settings/users/{member.id}").get_data(as_text=True)
    assert client.post(f"/settings/users/{member.id}", data=edit_data(member, name="Still here")).status_code == 302


def test_working_days_are_named_in_the_users_language(client, make):
    client.login(make.user("admin", language="it"))
    body = client.get("/settings/users/new").get_data(as_text=True)
    assert "lunedì" in body and "domenica" in body


# --- partner companies ----------------------------------------------------------------------------------


def company_data(**changes) -> dict:
    data = {"name": "Impianti Rossi", "kind": "installer", "email": "info@rossi.it", "phone": "+39 051 123",
            "province": "BO", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_create_and_edit_partner_company(client, admin):
    response = client.post("/settings/partners/new", data=company_data(phone=""))
    assert response.status_code == 302
    fresh()
    company = db.session.scalar(select(PartnerCompany))
    assert (company.name, company.kind, company.email, company.phone, company.province, company.active) == (
        "Impianti Rossi", "installer", "info@rossi.it", None, "BO", True)
    assert response.location == f"/settings/partners/{company.id}"
    response = client.post(f"/settings/partners/{company.id}",
                           data=company_data(name="Impianti Rossi & C.", kind="commercial", active=None))
    assert response.status_code == 302
    fresh()
    company = db.session.get(PartnerCompany, company.id)
    assert (company.name, company.kind, company.active) == ("Impianti Rossi & C.", "commercial", False)


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "This field is required."),
    ({"name": "x" * 161}, "Field cannot be longer than 160 characters."),
    ({"kind": "wholesaler"}, "Not a valid choice"),
    ({"email": "nope"}, "Invalid email address."),
    ({"name": "ALREADY THERE"}, "Another partner company already has this name."),
])
def test_invalid_partner_company_is_422_and_nothing_saved(client, admin, make, changes, message):
    make.company(name="Already There")
    response = client.post("/settings/partners/new", data=company_data(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh()
    assert count(PartnerCompany) == 1


def test_renaming_a_company_to_anothers_name_is_refused(client, admin, make):
    make.company(name="Alfa")
    beta = make.company(name="Beta")
    response = client.post(f"/settings/partners/{beta.id}", data=company_data(name="alfa"))
    assert response.status_code == 422
    fresh()
    assert db.session.get(PartnerCompany, beta.id).name == "Beta"
    assert client.post(f"/settings/partners/{beta.id}", data=company_data(name="BETA")).status_code == 302


def test_partner_list_filters_by_kind_and_shows_user_counts(client, admin, make):
    inst = make.company("installer", name="Posa Veloce")
    make.company("commercial", name="Vendite Nord")
    make.user("partner", company=inst)
    make.user("partner", company=inst)
    body = client.get("/settings/partners?kind=installer").get_data(as_text=True)
    assert "Posa Veloce" in body and "Vendite Nord" not in body
    assert '<td class="num">2</td>' in body
    body = client.get("/settings/partners?kind=commercial").get_data(as_text=True)
    assert "Vendite Nord" in body and "Posa Veloce" not in body
    partial = client.htmx("GET", "/settings/partners?kind=", headers={"HX-Target": "partner-table"})
    assert "<html" not in partial.get_data(as_text=True) and "Vendite Nord" in partial.get_data(as_text=True)
    assert client.get("/settings/partners?kind=bogus&page=-3").status_code == 200


# --- channels -------------------------------------------------------------------------------------------


def test_create_rename_deactivate_activate_delete_channel(client, admin):
    assert client.post("/settings/channels/new", data={"name": "  Web  "}).status_code == 302
    fresh()
    channel = db.session.scalar(select(Channel))
    assert channel.name == "Web" and channel.active
    assert client.post(f"/settings/channels/{channel.id}", data={"name": "Website"}).status_code == 302
    assert client.post(f"/settings/channels/{channel.id}/deactivate").status_code == 302
    fresh()
    channel = db.session.get(Channel, channel.id)
    assert channel.name == "Website" and not channel.active
    row = client.htmx("POST", f"/settings/channels/{channel.id}/activate")
    text = row.get_data(as_text=True)
    assert row.status_code == 200 and text.lstrip().startswith("<tr") and "Deactivate" in text
    fresh()
    assert db.session.get(Channel, channel.id).active
    assert client.post(f"/settings/channels/{channel.id}/delete").status_code == 302
    fresh()
    assert count(Channel) == 0


@pytest.mark.parametrize("name,message", [
    ("", "This field is required."),
    ("   ", "This field is required."),
    ("x" * 121, "Field cannot be longer than 120 characters."),
    ("PHONE", "Another channel already has this name."),
])
def test_invalid_channel_is_422_and_nothing_saved(client, admin, make, name, message):
    phone = make.channel("Phone")
    other = make.channel("Fair")
    response = client.post("/settings/channels/new", data={"name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = client.post(f"/settings/channels/{other.id}", data={"name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    fresh()
    assert sorted(c.name for c in db.session.scalars(select(Channel))) == ["Fair", "Phone"]
    assert db.session.get(Channel, phone.id).name == "Phone"


def test_channel_used_by_opportunities_cannot_be_deleted(client, admin, make):
    channel = make.channel("Referral")
    make.opportunity(channel=channel)
    response = client.post(f"/settings/channels/{channel.id}/delete")
    assert response.status_code == 409
    assert "1 opportunity uses this channel: it cannot be deleted." in response.get_data(as_text=True)
    make.opportunity(channel=channel)
    response = client.post(f"/settings/channels/{channel.id}/delete")
    assert "2 opportunities use this channel" in response.get_data(as_text=True)
    fresh()
    assert db.session.get(Channel, channel.id) is not None
    # It can still be deactivated.
    assert client.post(f"/settings/channels/{channel.id}/deactivate").status_code == 302


def test_channel_in_an_action_filter_or_assignment_rule_cannot_be_deleted(client, admin, make):
    flow = make.flow((1, 1))
    filtered = make.channel("Filtered")
    ruled = make.channel("Ruled")
    db.session.add(Action(substate=flow.substates[0], group="on_open", kind="send_email", config={},
                          channels=[filtered]))
    db.session.add(AssignmentRule(partner_kind="installer", channel_id=ruled.id))
    db.session.commit()
    response = client.post(f"/settings/channels/{filtered.id}/delete")
    assert response.status_code == 409
    assert "1 automatic action is limited to this channel" in response.get_data(as_text=True)
    response = client.post(f"/settings/channels/{ruled.id}/delete")
    assert response.status_code == 409
    assert "1 assignment criterion uses this channel" in response.get_data(as_text=True)
    fresh()
    assert count(Channel) == 2
