"""User menu → Process automations (T2, seed 003) over HTTP: the panel, the two-step configurator, the
seed's rules (one automation per field and per step, steps with a note or task-creating actions kept out,
warnings for deleted or archived links, "N of M active" and the limit), admins only, 422 on bad input."""

import pytest
from flask_babel import force_locale, gettext, ngettext
from markupsafe import escape
from sqlalchemy import delete, func, select

from extensions import db
from models import CustomField, ProcessAutomation, Substate
from services import process_automations as svc

URL = "/process-automations"


def _custom(key="kw", name="Power", **kw) -> CustomField:
    field = CustomField(key=key, name=name, name_i18n={}, field_type=kw.pop("field_type", "number"), options=[], **kw)
    db.session.add(field)
    db.session.commit()
    return field


def _automation(name, field_ref, sub, active=False) -> ProcessAutomation:
    kind, _sep, key = field_ref.partition(":")
    row = ProcessAutomation(name=name, custom_field_id=int(key) if kind == "custom" else None,
                            system_field=key if kind == "system" else None, type_id=sub.state.type_id,
                            substate_id=sub.id, active=active, field_name=name + " field", substate_name=sub.name)
    db.session.add(row)
    db.session.commit()
    return row


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessAutomation))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _save(client, name, field, type_id, substate_id, url=URL + "/new", **kw):
    return client.post(url, data={"name": name, "field": field, "type_id": type_id, "substate_id": substate_id,
                                  "go": "save"}, **kw)


@pytest.fixture
def flow(make):
    return make.flow((2, 2), name="Photovoltaic")


# --- the menu and access ---------------------------------------------------------------------------------------

def test_user_menu_offers_process_automations_to_admins_only(client, make, admin):
    assert f'href="{URL}"' in _text(client.get("/opportunities"))
    client.post("/logout")
    client.login(make.user("manager"))
    assert f'href="{URL}"' not in _text(client.get("/opportunities"))


@pytest.mark.parametrize("role", ["manager", "agent", "partner"])
def test_every_route_refuses_anyone_but_an_admin(app, client, make, flow, role):
    automation = _automation("Power filled", "system:company_name", flow.substates[0])
    user = make.user(role, company=make.company() if role == "partner" else None)
    client.login(user)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("automations.")]
    assert len(rules) >= 8
    for rule in rules:
        url = rule.build({"automation_id": automation.id} if "automation_id" in rule.arguments else {})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"active": "1", "limit": "0", "name": "x"})
            assert response.status_code == (404 if role == "partner" else 403), f"{method} {url}"
    db.session.expire_all()
    assert _count() == 1 and not db.session.get(ProcessAutomation, automation.id).active
    assert svc.active_limit() == 10


# --- creating, step by step -------------------------------------------------------------------------------------

def test_create_in_two_steps_then_activate_from_its_page(client, admin, flow):
    sub = flow.substates[1]
    page = _text(client.get(URL))
    assert "Create new" in page and escape(gettext("%(active)d of %(limit)d active", active=0, limit=10)) in page
    step1 = _text(client.get(URL + "/new"))
    assert 'name="field"' in step1 and 'value="system:company_name"' in step1 and "Next: define the effect" in step1
    assert 'name="type_id"' not in step1
    step2 = client.post(URL + "/new", data={"name": "Company known", "field": "system:company_name", "go": "effect"})
    assert step2.status_code == 200
    body = _text(step2)
    assert f'<option value="{flow.id}" selected>Photovoltaic</option>' in body  # the only process, chosen
    assert 'name="substate_id"' in body and f'value="{sub.id}"' in body and 'value="Company known"' in body
    assert _count() == 0  # nothing saved before Save
    saved = _save(client, "Company known", "system:company_name", flow.id, sub.id)
    assert saved.status_code == 302
    automation = db.session.execute(select(ProcessAutomation)).scalar_one()
    assert (automation.name, automation.system_field, automation.substate_id, automation.active) == (
        "Company known", "company_name", sub.id, False)
    assert saved.headers["Location"].endswith(f"{URL}/{automation.id}")
    detail = _text(client.get(saved.headers["Location"]))
    assert 'aria-pressed="false"' in detail and f'href="{URL}"' in detail  # the back arrow
    switched = client.post(f"{URL}/{automation.id}/active", data={"active": "1", "back": "page"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith(f"{URL}/{automation.id}")
    db.session.expire_all()
    assert db.session.get(ProcessAutomation, automation.id).active
    listing = _text(client.get(URL))
    assert "Company known" in listing and "Photovoltaic" in listing and sub.name in listing
    assert escape(gettext("%(active)d of %(limit)d active", active=1, limit=10)) in listing


def test_changing_the_sales_process_reloads_the_step_picker(client, admin, make, flow):
    other = make.flow((1,), name="Heat pumps")
    response = client.htmx("GET", URL + "/substates", query_string={"type_id": other.id})
    assert response.status_code == 200
    body = _text(response)
    assert 'id="substate-field"' in body and f'value="{other.substates[0].id}"' in body
    assert f'value="{flow.substates[0].id}"' not in body
    # Without htmx the URL leads back to the configurator rather than to a bare fragment.
    assert client.get(URL + "/substates").status_code == 302


def test_edit_the_same_way_and_delete(client, admin, flow):
    automation = _automation("Old name", "system:company_name", flow.substates[0])
    page = _text(client.get(f"{URL}/{automation.id}/edit"))
    assert 'value="Old name"' in page and 'value="system:company_name" selected' in page  # its own: available
    response = _save(client, "New name", "system:contact_person", flow.id, flow.substates[1].id,
                     url=f"{URL}/{automation.id}/edit")
    assert response.status_code == 302
    db.session.expire_all()
    automation = db.session.get(ProcessAutomation, automation.id)
    assert (automation.name, automation.system_field, automation.substate_id) == (
        "New name", "contact_person", flow.substates[1].id)
    listing = _text(client.get(URL))
    assert escape(gettext("Delete the process automation “%(name)s”?", name="New name")) in listing
    assert client.post(f"{URL}/{automation.id}/delete").status_code == 302
    assert _count() == 0
    assert escape(gettext("No process automation yet.")) in _text(client.get(URL))


# --- the seed's rules ----------------------------------------------------------------------------------------

def test_each_field_and_each_step_serve_one_automation(client, admin, flow):
    field = _custom()
    taken_sub = flow.substates[0]
    _automation("First", f"custom:{field.id}", taken_sub)
    step1 = _text(client.get(URL + "/new"))
    unavailable = gettext("unavailable: used by another automation")
    assert f'<option value="custom:{field.id}" disabled>Power — {unavailable}</option>' in step1
    picker = _text(client.htmx("GET", URL + "/substates", query_string={"type_id": flow.id}))
    why = gettext("unavailable: %(why)s", why=gettext("used by another automation"))
    assert f'<option value="{taken_sub.id}" disabled>{taken_sub.name} — {why}</option>' in picker
    refused = client.post(URL + "/new", data={"name": "Second", "field": f"custom:{field.id}", "go": "effect"})
    assert refused.status_code == 422
    assert escape(gettext("“%(name)s” is already used by another automation.", name="Power")) in _text(refused)
    refused = _save(client, "Second", "system:company_name", flow.id, taken_sub.id)
    assert refused.status_code == 422 and 'aria-invalid="true" aria-describedby="substate_id-error"' in _text(refused)
    assert escape(gettext("“%(name)s” is already used by another automation.", name=taken_sub.name)) in _text(refused)
    assert _count() == 1


def test_steps_that_ask_for_a_note_or_create_tasks_are_not_offered(client, admin, make, flow):
    with_note, with_task, free = flow.substates[0], flow.substates[1], flow.substates[2]
    with_note.requires_note = True
    db.session.commit()
    make.action(with_task, "create_task", config={"title": "Call"})
    picker = _text(client.htmx("GET", URL + "/substates", query_string={"type_id": flow.id}))
    for sub, reason in ((with_note, "asks for a note"), (with_task, "creates a task")):
        why = gettext("unavailable: %(why)s", why=gettext(reason))
        assert f'<option value="{sub.id}" disabled>{sub.name} — {why}</option>' in picker
    assert f'<option value="{free.id}">{free.name}</option>' in picker
    for sub in (with_note, with_task):
        refused = _save(client, "Noted", "system:company_name", flow.id, sub.id)
        assert refused.status_code == 422
    assert _count() == 0
    assert _save(client, "Free", "system:company_name", flow.id, free.id).status_code == 302


def test_a_deleted_field_or_step_keeps_the_automation_and_warns(client, admin, flow):
    field = _custom()
    by_field = _automation("By field", f"custom:{field.id}", flow.substates[0])
    spare = Substate(state_id=flow.states[1].id, name="Site visit", name_i18n={}, position=9)
    db.session.add(spare)
    db.session.commit()
    by_step = _automation("By step", "system:contact_person", spare)
    # Deleted outside the panel (another admin's settings page, a migration): the links become NULL.
    db.session.execute(delete(CustomField).where(CustomField.id == field.id))
    db.session.execute(delete(Substate).where(Substate.id == spare.id))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ProcessAutomation, by_field.id).custom_field_id is None
    assert db.session.get(ProcessAutomation, by_step.id).substate_id is None
    response = client.get(URL)
    assert response.status_code == 200
    page = _text(response)
    assert escape(gettext("The field “%(name)s” was deleted.", name="By field field")) in page
    assert escape(gettext("The substate “%(name)s” was deleted.", name="Site visit")) in page
    assert "By field" in page and "By step" in page
    assert client.get(f"{URL}/{by_step.id}").status_code == 200
    # Such an automation cannot be switched on until it is fixed.
    refused = client.post(f"{URL}/{by_step.id}/active", data={"active": "1"})
    assert refused.status_code == 422
    db.session.expire_all()
    assert not db.session.get(ProcessAutomation, by_step.id).active


def test_an_archived_field_or_step_warns(client, admin, flow):
    field = _custom()
    _automation("Archived field", f"custom:{field.id}", flow.substates[0])
    _automation("Archived step", "system:company_name", flow.substates[1])
    field.archived = True
    flow.substates[1].archived = True
    db.session.commit()
    page = _text(client.get(URL))
    assert escape(gettext("The field “%(name)s” is archived.", name="Power")) in page
    assert escape(gettext("The substate “%(name)s” is archived.", name=flow.substates[1].name)) in page


def test_activating_past_the_limit_is_refused_and_the_switch_stays_off(client, admin, flow):
    assert client.post(URL + "/limit", data={"limit": "1"}).status_code == 302
    first = _automation("First", "system:company_name", flow.substates[0])
    second = _automation("Second", "system:contact_person", flow.substates[1])
    on = client.htmx("POST", f"{URL}/{first.id}/active", data={"active": "1", "back": "panel"})
    assert on.status_code == 200 and 'aria-pressed="true"' in _text(on)
    assert escape(gettext("%(active)d of %(limit)d active", active=1, limit=1)) in _text(on)  # the count, out of band
    refused = client.htmx("POST", f"{URL}/{second.id}/active", data={"active": "1", "back": "panel"})
    message = ngettext("%(num)d automation is already active, the most allowed. Deactivate it first.",
                       "%(num)d automations are already active, the most allowed. Deactivate one first.", 1)
    assert refused.status_code == 422
    assert escape(message) in _text(refused) and 'aria-pressed="false"' in _text(refused)
    plain = client.post(f"{URL}/{second.id}/active", data={"active": "1", "back": "panel"})
    assert plain.status_code == 422 and escape(message) in _text(plain)
    db.session.expire_all()
    assert not db.session.get(ProcessAutomation, second.id).active
    page = _text(client.get(URL))
    assert escape(gettext("%(active)d of %(limit)d active", active=1, limit=1)) in page
    # Switching one off makes room.
    assert client.post(f"{URL}/{first.id}/active", data={"active": "0"}).status_code == 302
    assert client.post(f"{URL}/{second.id}/active", data={"active": "1"}).status_code == 302
    db.session.expire_all()
    assert [a.active for a in svc.all_automations()] == [False, True]


@pytest.mark.parametrize("typed", ["-1", "abc", "2.5", "", "9" * 400, "10001"])
def test_the_limit_takes_a_whole_number_only(client, admin, typed):
    response = client.post(URL + "/limit", data={"limit": typed})
    assert response.status_code == 422
    assert escape(gettext("Enter a whole number from 0 to %(max)d.", max=svc.LIMIT_MAX)) in _text(response)
    assert svc.active_limit() == 10


def test_the_limit_is_stored_and_shown(client, admin):
    assert client.post(URL + "/limit", data={"limit": " 3 "}).status_code == 302
    assert svc.active_limit() == 3
    page = _text(client.get(URL))
    assert 'value="3"' in page and escape(gettext("%(active)d of %(limit)d active", active=0, limit=3)) in page


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_bad_input_is_422_with_messages_on_the_fields_in_the_users_language(client, make, flow, lang):
    client.login(make.user("admin", language=lang))
    response = client.post(URL + "/new", data={"name": "  ", "field": "custom:999", "go": "effect"})
    assert response.status_code == 422
    page = _text(response)
    with force_locale(lang):
        assert escape(gettext("Give the automation a name.")) in page
        assert escape(gettext("Choose a field from the list.")) in page
    assert 'aria-invalid="true" aria-describedby="name-error"' in page
    response = _save(client, "Named", "system:company_name", "abc", "")
    assert response.status_code == 422
    with force_locale(lang):
        assert escape(gettext("Choose a sales process from the list.")) in _text(response)
    response = _save(client, "Named", "system:company_name", flow.id, "")
    with force_locale(lang):
        assert escape(gettext("Choose a step of this sales process.")) in _text(response)
    response = _save(client, "x" * 161, "system:company_name", flow.id, flow.substates[0].id)
    assert response.status_code == 422
    with force_locale(lang):
        assert escape(gettext("At most %(max)d characters.", max=160)) in _text(response)
    assert _count() == 0
