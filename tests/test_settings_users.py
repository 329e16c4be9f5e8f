"""Settings → Users: create, edit, uniqueness, permissions, supervisors, working hours (SPEC S7, S8, S9)."""

from datetime import time

import pytest
from sqlalchemy import select

from extensions import db
from models import (
    User,
    UserPermission,
)
from services import users as user_svc
from services.validation import InvalidData
from tests.settings_support import count, edit_data, fresh, user_data


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
    assert "Marco Bianchi" in page and old_hash not in page and old_hash.split("$")[0] not in page
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


def test_the_database_refuses_a_second_address_differing_only_in_case(app, make, monkeypatch):
    """What the service's check cannot see (two requests at once) the unique index on lower(email) stops,
    and the service turns it into the same message."""
    make.user("agent", email="dup@example.com")
    admin_user = make.user("admin")
    # As if the other request committed between this one's check and its write.
    monkeypatch.setattr(user_svc, "email_taken", lambda *args, **kwargs: False)
    data = {"name": "X", "email": "DUP@example.com", "role": "agent", "timezone": "Europe/Rome",
            "work_start": time(9), "work_end": time(18), "work_days": "12345", "active": True,
            "password": "s3cret-pass"}
    with app.test_request_context(), pytest.raises(InvalidData) as err:
        user_svc.create_user(data, admin_user)
    db.session.rollback()
    assert err.value.errors == {"email": "Another user already has this email address."}
