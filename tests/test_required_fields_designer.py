"""The designer's substate panel (D4): the Required fields tab (add, remove, "Requires a note when closed"),
the Linked tasks tab, and what the Triggers tab shows read-only (process automation, linked tasks)."""

from html import unescape

import pytest
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import CustomField, OpportunityType, ProcessAutomation, SubstateRequirement


@pytest.fixture
def flow(make):
    return make.flow((2,))


def custom(key, types=(), archived=False) -> CustomField:
    field = CustomField(key=key, name=key.title(), name_i18n={}, field_type="text", options=[], archived=archived)
    field.types = list(types)
    db.session.add(field)
    db.session.commit()
    return field


def panel(client, flow, sub, tab) -> str:
    response = client.htmx("GET", f"/settings/types/{flow.id}/substates/{sub.id}?tab={tab}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def base(flow, sub) -> str:
    return f"/settings/types/{flow.id}/substates/{sub.id}"


def required_refs(sub) -> list[str]:
    db.session.expire_all()
    return [f"custom:{r.custom_field_id}" if r.custom_field_id else f"system:{r.system_field}"
            for r in db.session.execute(select(SubstateRequirement).where(SubstateRequirement.substate_id == sub.id)
                                        .order_by(SubstateRequirement.id)).scalars()]


def test_add_and_remove_required_fields(client, make, flow):
    sub = flow.substates[0]
    other_type = make.flow((1,))
    power = custom("power", types=[flow])
    elsewhere = custom("elsewhere", types=[db.session.get(OpportunityType, other_type.id)])
    gone = custom("gone", archived=True)
    client.login(make.user("manager"))
    body = panel(client, flow, sub, "required")
    assert _("Required fields") in body and _("No required fields.") in body
    # Offered: system fields and live fields of this type only.
    assert f'value="custom:{power.id}"' in body and 'value="system:contact_person"' in body
    assert f'value="custom:{elsewhere.id}"' not in body and f'value="custom:{gone.id}"' not in body
    assert client.htmx("POST", f"{base(flow, sub)}/required-fields", data={"field": f"custom:{power.id}"}).status_code == 200
    response = client.htmx("POST", f"{base(flow, sub)}/required-fields", data={"field": "system:contact_person"})
    assert response.status_code == 200
    assert required_refs(sub) == [f"custom:{power.id}", "system:contact_person"]
    body = unescape(response.get_data(as_text=True))
    assert "Power" in body and f'<option value="custom:{power.id}"' not in body  # not offered twice
    for ref in (f"custom:{power.id}", f"custom:{elsewhere.id}", f"custom:{gone.id}", "system:nope", ""):
        refused = client.htmx("POST", f"{base(flow, sub)}/required-fields", data={"field": ref})
        assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert _("“%(name)s” is already required.", name="Power") in unescape(
        client.htmx("POST", f"{base(flow, sub)}/required-fields", data={"field": f"custom:{power.id}"}).get_data(True))
    assert len(required_refs(sub)) == 2
    assert client.htmx("POST", f"{base(flow, sub)}/required-fields/remove",
                       data={"field": f"custom:{power.id}"}).status_code == 200
    assert required_refs(sub) == ["system:contact_person"]
    # A second click changes nothing.
    assert client.htmx("POST", f"{base(flow, sub)}/required-fields/remove",
                       data={"field": f"custom:{power.id}"}).status_code == 200


def test_the_note_switch(client, make, flow):
    sub = flow.substates[0]
    client.login(make.user("manager"))
    assert client.htmx("POST", f"{base(flow, sub)}/requires-note", data={"requires_note": "1"}).status_code == 200
    db.session.expire_all()
    assert sub.requires_note is True
    assert _("Will not close automatically") in panel(client, flow, sub, "linked")
    assert client.htmx("POST", f"{base(flow, sub)}/requires-note", data={}).status_code == 200
    db.session.expire_all()
    assert sub.requires_note is False
    assert _("Closes automatically") in panel(client, flow, sub, "linked")


def test_a_substate_in_a_process_automation_cannot_ask_for_a_note(client, make, flow):
    sub = flow.substates[0]
    db.session.add(ProcessAutomation(name="Power ticks", system_field="company_name", type_id=flow.id,
                                     substate_id=sub.id, active=True))
    db.session.commit()
    client.login(make.user("manager"))
    body = panel(client, flow, sub, "required")
    assert "Power ticks" in body and _("Company name") in body
    assert 'value="system:company_name"' not in body  # the automation requires it already
    refused = client.htmx("POST", f"{base(flow, sub)}/requires-note", data={"requires_note": "1"})
    assert refused.status_code == 422 and "Power ticks" in unescape(refused.get_data(as_text=True))
    db.session.expire_all()
    assert sub.requires_note is False
    triggers = panel(client, flow, sub, "triggers")
    assert _("Filling “%(field)s” ticks this substate", field=_("Company name")) in triggers
    assert _("Completing all its linked tasks closes it") in triggers


def test_read_only_for_users_who_may_not_modify_flows(client, make, flow):
    sub = flow.substates[0]
    field = custom("power")
    db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=field.id))
    db.session.commit()
    client.login(make.user("agent"))
    body = panel(client, flow, sub, "required")
    assert "Power" in body and "required-fields/remove" not in body and 'name="requires_note"' not in body
    for path, data in (("required-fields", {"field": "system:company_name"}),
                       ("required-fields/remove", {"field": f"custom:{field.id}"}),
                       ("requires-note", {"requires_note": "1"})):
        assert client.htmx("POST", f"{base(flow, sub)}/{path}", data=data).status_code == 403
    assert required_refs(sub) == [f"custom:{field.id}"]
    db.session.expire_all()
    assert sub.requires_note is False
    client.post("/logout")
    client.login(make.partner())
    assert client.htmx("GET", f"{base(flow, sub)}?tab=required").status_code == 404
    assert client.htmx("POST", f"{base(flow, sub)}/requires-note", data={"requires_note": "1"}).status_code == 404


def test_a_field_trigger_can_be_added_in_the_triggers_tab(client, make, flow):
    sub = flow.substates[1]
    client.login(make.user("manager"))
    form = client.htmx("GET", f"{base(flow, sub)}/triggers/new?kind=field")
    assert form.status_code == 200 and 'value="system:acquisition_source"' in form.get_data(as_text=True)
    saved = client.htmx("POST", f"{base(flow, sub)}/triggers/new", data={
        "kind": "field", "config-field": "system:acquisition_source", "config-when": "filled"})
    assert saved.status_code == 200, saved.get_data(as_text=True)[:400]
    body = unescape(panel(client, flow, sub, "triggers"))
    assert _("Acquisition source") in body
    flowmap = unescape(client.get(f"/settings/types/{flow.id}/map").get_data(as_text=True))
    assert _("Acquisition source") in flowmap


def test_the_board_marks_substates_that_ask_for_input(client, make, flow):
    first, second = flow.substates
    client.login(make.user("manager"))
    board = unescape(client.get(f"/settings/types/{flow.id}").get_data(as_text=True))
    assert _("Asks for input") not in board
    added = client.htmx("POST", f"{base(flow, first)}/required-fields", data={"field": "system:company_name"})
    assert added.headers.get("HX-Trigger") == "flow-changed"  # the board reloads itself
    client.htmx("POST", f"{base(flow, second)}/requires-note", data={"requires_note": "1"})
    board = unescape(client.get(f"/settings/types/{flow.id}").get_data(as_text=True))
    assert board.count(_("Asks for input")) == 2


def test_the_automation_links_to_its_page_for_admins_only(client, make, flow):
    sub = flow.substates[0]
    automation = ProcessAutomation(name="Ticks", system_field="contact_person", type_id=flow.id, substate_id=sub.id,
                                   active=True)
    db.session.add(automation)
    db.session.commit()
    link = f'href="/process-automations/{automation.id}"'
    client.login(make.user("admin"))
    for tab in ("required", "triggers"):
        assert link in panel(client, flow, sub, tab)
    assert client.get(f"/process-automations/{automation.id}").status_code == 200
    client.post("/logout")
    client.login(make.user("manager"))
    assert "Ticks" in panel(client, flow, sub, "required") and link not in panel(client, flow, sub, "required")
