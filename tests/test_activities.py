"""Activities (SPEC A7, S4): Settings → Activity types, the kind that creates an activity, and completing
it from the opportunity page."""

import pytest
from flask_babel import refresh
from sqlalchemy import func, select

from engine.executor import execute
from extensions import db
from models import ActionRun, Activity, ActivityType
from services.substates import open_substate
from tests.engine_support import add_action, runs, wait_for


def fresh(model, record_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, record_id)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- access to the settings pages ---------------------------------------------------------------------

ROUTES = [("GET", "/settings/activity-types"), ("POST", "/settings/activity-types/new"),
          ("GET", "/settings/activity-types/{id}"), ("POST", "/settings/activity-types/{id}"),
          ("POST", "/settings/activity-types/{id}/activate"), ("POST", "/settings/activity-types/{id}/deactivate")]


def test_admin_opens_the_pages(client, admin, make):
    activity_type = make.activity_type("Outbound call")
    for method, url in ROUTES:
        if method == "GET":
            assert client.get(url.format(id=activity_type.id)).status_code == 200
    assert 'href="/settings/activity-types"' in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("manager", 403), ("agent", 403), ("partner", 404)])
def test_others_are_refused_and_nothing_changes(client, make, method, url, role, status):
    activity_type = make.activity_type("Outbound call")
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=activity_type.id), method=method, data={"name": "Changed"})
    assert response.status_code == status
    assert fresh(ActivityType, activity_type.id).name == "Outbound call" and count(ActivityType) == 1


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "POST"])
def test_posts_without_csrf_are_refused(client, admin, make, method, url):
    activity_type = make.activity_type("Outbound call")
    assert client.post(url.format(id=activity_type.id), data={"name": "X"}, csrf=False).status_code == 400
    assert fresh(ActivityType, activity_type.id).name == "Outbound call" and count(ActivityType) == 1


# --- CRUD ---------------------------------------------------------------------------------------------


def test_create_with_translations_shown_in_each_language(client, admin, make):
    response = client.post("/settings/activity-types/new", data={
        "name": "Outbound call", "name_it": "Chiamata in uscita", "name_es": "Llamada saliente", "name_en": ""})
    assert response.status_code == 302 and response.location == "/settings/activity-types"
    created = db.session.execute(select(ActivityType)).scalar_one()
    assert created.active and created.name_i18n == {"it": "Chiamata in uscita", "es": "Llamada saliente"}
    page = client.get("/settings/activity-types").get_data(as_text=True)
    assert "Outbound call" in page and "Chiamata in uscita" in page
    # Activities show the type in the reader's language.
    italian = make.user("manager", language="it")
    client.post("/logout")
    client.login(italian)
    opp = make.opportunity()
    make.activity(opp, created)
    refresh()  # the test's app context outlives requests: forget the locale the admin's requests cached
    assert "Chiamata in uscita" in client.get(f"/opportunities/{opp.id}").get_data(as_text=True)


@pytest.mark.parametrize("data,field,message", [
    ({"name": ""}, "name", "Enter a name."),
    ({"name": "x" * 121}, "name", "At most 120 characters."),
    ({"name": "OUTBOUND CALL"}, "name", "Another activity type already has this name."),
    ({"name": "Visit", "name_es": "y" * 121}, "name_es", "At most 120 characters."),
])
def test_create_refuses_bad_input_with_422(client, admin, make, data, field, message):
    make.activity_type("Outbound call")
    response = client.post("/settings/activity-types/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(ActivityType) == 1


def test_rename_and_its_errors(client, admin, make):
    call, _visit = make.activity_type("Outbound call"), make.activity_type("Visit")
    url = f"/settings/activity-types/{call.id}"
    response = client.post(url, data={"name": "visit"})
    assert response.status_code == 422 and "Another activity type already has this name." in response.get_data(True)
    assert fresh(ActivityType, call.id).name == "Outbound call"
    assert client.post(url, data={"name": "Phone call", "name_it": "Telefonata"}).status_code == 302
    renamed = fresh(ActivityType, call.id)
    assert (renamed.name, renamed.name_i18n) == ("Phone call", {"it": "Telefonata"})
    assert 'value="Telefonata"' in client.get(url).get_data(as_text=True)


def test_deactivate_and_activate_by_htmx_return_the_row(client, admin, make):
    activity_type = make.activity_type("Outbound call")
    response = client.htmx("POST", f"/settings/activity-types/{activity_type.id}/deactivate")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="activity-type-{activity_type.id}"')
    assert "Activate" in body and not fresh(ActivityType, activity_type.id).active
    assert client.post(f"/settings/activity-types/{activity_type.id}/activate").status_code == 302
    assert fresh(ActivityType, activity_type.id).active


@pytest.mark.parametrize("suffix", ["", "/activate", "/deactivate"])
def test_unknown_type_is_404(client, admin, suffix):
    assert client.post(f"/settings/activity-types/9999{suffix}", data={"name": "x"}).status_code == 404


# --- the kind: an activity created by a run -----------------------------------------------------------


def _run_create_activity(make, installer=None, **config):
    flow = make.flow((1,))
    (sub,) = flow.substates
    add_action(sub, "on_open", "create_activity", **config)
    customer = make.customer(name="Marco Rossi")
    opp = make.opportunity(flow, name="Impianto Rossi", customer=customer, installer=installer)
    open_substate(opp, sub.id, None)
    db.session.commit()
    (run,) = runs()
    execute(run.id)
    return fresh(ActionRun, run.id), opp


def test_run_creates_the_activity_with_placeholders_filled(app, make):
    call = make.activity_type("Outbound call")
    run, opp = _run_create_activity(make, activity_type_id=call.id,
                                    description="Call {{ client.name }} about {{ opportunity.name }}")
    assert run.status == "succeeded"
    activity = db.session.execute(select(Activity)).scalar_one()
    assert (activity.opportunity_id, activity.type_id, activity.run_id) == (opp.id, call.id, run.id)
    assert activity.description == "Call Marco Rossi about Impianto Rossi"
    assert activity.created_by_id is None and not activity.is_completed
    assert run.result == {"activity_id": activity.id, "activity_type_id": call.id}


def test_a_description_names_the_partners_and_owner_as_email_templates_do(app, make):
    installer = make.company(name="Solare Nord Srl", kind="installer")
    run, _opp = _run_create_activity(make, installer=installer, activity_type_id=make.activity_type().id,
                                     description="Sopralluogo {{ installer.name }} per {{ client.name }}."
                                                 "{{ commercial.name }}")
    assert run.status == "succeeded", run.error
    # No commercial company yet: a missing value renders empty rather than failing the run.
    assert db.session.execute(select(Activity.description)).scalar_one() == (
        "Sopralluogo Solare Nord Srl per Marco Rossi.")


@pytest.mark.parametrize("description", ["{{ opportunity.__class__.__mro__ }}", "{{ ''.__class__ }}",
                                         "{{ opportunity.query }}{{ client.delete() }}"])
def test_placeholders_never_reach_code(app, make, description):
    run, _opp = _run_create_activity(make, activity_type_id=make.activity_type().id, description=description)
    if run.status == "succeeded":  # plain values only: unknown names render empty
        assert "<" not in db.session.execute(select(Activity.description)).scalar_one()
    else:
        assert run.status == "failed" and "placeholders" in run.error and count(Activity) == 0


def test_inactive_or_missing_type_fails_the_run_with_the_reason(app, make):
    inactive = make.activity_type("Old call", active=False)
    run, _opp = _run_create_activity(make, activity_type_id=inactive.id, description="x")
    assert run.status == "failed" and "“Old call” is deactivated" in run.error and count(Activity) == 0
    db.session.execute(ActionRun.__table__.delete())
    db.session.commit()
    run, _opp = _run_create_activity(make, activity_type_id=99999, description="x")
    assert run.status == "failed" and "no longer exists" in run.error and count(Activity) == 0


def test_activity_created_by_a_worker_is_completed_from_the_page(client, make, workers):
    call = make.activity_type("Outbound call")
    flow = make.flow((1,))
    (sub,) = flow.substates
    add_action(sub, "on_open", "create_activity", activity_type_id=call.id, description="Call the client")
    opp = make.opportunity(flow)
    user = make.user("manager", name="Marta Manager")
    workers.start(1)
    client.login(user)
    client.htmx("POST", f"/opportunities/{opp.id}/substates/{sub.id}/open")
    wait_for(lambda: count(Activity) == 1, message="activity created by the run")
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert 'id="activities"' in page and "Call the client" in page and "Complete</button>" in page
    activity = db.session.execute(select(Activity)).scalar_one()
    response = client.htmx("POST", f"/opportunities/{opp.id}/activities/{activity.id}/complete")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="activities"')
    assert "Marta Manager" in body and "Complete</button>" not in body
    done = fresh(Activity, activity.id)
    assert done.completed_by_id == user.id and done.completed_at is not None
    assert done.run_id == runs()[0].id


# --- completing: who may ------------------------------------------------------------------------------


def test_partner_of_the_assigned_company_may_complete(client, make):
    partner = make.partner("installer")
    opp = make.opportunity(installer=partner.company)
    activity = make.activity(opp)
    client.login(partner)
    response = client.post(f"/opportunities/{opp.id}/activities/{activity.id}/complete")
    assert response.status_code == 302 and response.location == f"/opportunities/{opp.id}"
    assert fresh(Activity, activity.id).completed_by_id == partner.id


def test_others_may_not_complete(client, make):
    partner = make.partner("installer")
    opp = make.opportunity(installer=make.company("installer"))
    activity = make.activity(opp)
    client.login(partner)  # another installer: the opportunity does not exist for it
    assert client.post(f"/opportunities/{opp.id}/activities/{activity.id}/complete").status_code == 404
    client.post("/logout")
    client.login(make.user("viewer"))  # an internal role without "Create and edit opportunities"
    assert client.htmx("POST", f"/opportunities/{opp.id}/activities/{activity.id}/complete").status_code == 403
    assert fresh(Activity, activity.id).completed_at is None


def test_activity_of_another_opportunity_is_404_and_twice_is_409(client, make):
    client.login(make.user("agent"))
    opp, other = make.opportunity(), make.opportunity()
    activity = make.activity(other)
    assert client.post(f"/opportunities/{opp.id}/activities/{activity.id}/complete").status_code == 404
    assert client.post(f"/opportunities/{other.id}/activities/{activity.id}/complete").status_code == 302
    response = client.htmx("POST", f"/opportunities/{other.id}/activities/{activity.id}/complete")
    assert response.status_code == 409 and "already completed" in response.get_data(as_text=True)
