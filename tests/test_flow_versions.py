"""D12: flow changes are recorded whoever makes them (routes, services, scripts), the Changes page shows them
with labels, an earlier version of an action or substate restores exactly, and runs carry the version."""

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Action, ActionRun, FlowChange, OpportunityType, Substate
from services import flow_versions

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def changes(**where) -> list[FlowChange]:
    db.session.expire_all()
    return list(db.session.execute(select(FlowChange).filter_by(**where).order_by(FlowChange.id)).scalars())


@pytest.fixture
def setup(client, make):
    manager = make.user("manager", name="Mara Manager")
    client.login(manager)
    t = make.flow((2, 1))
    return {"t": t, "sub": t.substates[0], "base": f"{T}/{t.id}", "manager": manager}


def _send_email(client, setup, action_id, template, smtp, recipient="client"):
    return client.htmx("POST", f"{setup['base']}/actions/{action_id}/edit", data={
        "group": "on_open", "kind": "send_email", "config-email_template_id": str(template.id),
        "config-smtp_credential_id": str(smtp.id), "config-recipient": recipient, "channel_scope": "all"})


def test_an_edit_through_the_designer_is_recorded_with_who_before_after_and_version(client, setup, make):
    t, sub = setup["t"], setup["sub"]
    first, second, smtp = make.email_template("Welcome"), make.email_template("Reminder"), make.smtp("Main")
    action = make.action(sub, "send_email", "on_open", {"email_template_id": first.id,
                                                         "smtp_credential_id": smtp.id, "recipient": "client"})
    version_before = db.session.get(OpportunityType, t.id).config_version
    assert _send_email(client, setup, action.id, second, smtp, "owner").status_code == 200
    row = changes(entity="action", operation="update")[-1]
    assert row.user_id == setup["manager"].id and row.type_id == t.id and row.entity_id == action.id
    assert row.before["config"]["email_template_id"] == first.id and row.after["config"]["email_template_id"] == second.id
    assert row.version == version_before + 1 == db.session.get(OpportunityType, t.id).config_version
    page = text(client.get(f"{T}/{t.id}/changes"))
    assert "Mara Manager" in page and "Settings › Email template" in page and "Settings › Recipient" in page
    assert "email_template_id" not in page  # labels, not JSON keys
    assert f"{T}/{t.id}/changes/{row.id}/restore" in page


def test_one_transaction_is_one_version_and_every_kind_of_record_is_covered(app, make):
    t = make.flow((1, 2))
    creates = changes(type_id=t.id)
    assert {c.entity for c in creates} == {"type", "state", "substate"} and {c.version for c in creates} == {1}
    sub = t.substates[0]
    sub.name, sub.requires_note = "Survey", True
    make.action(sub)  # commits both: one transaction, one version
    rows = changes(type_id=t.id, version=2)
    assert sorted(r.entity for r in rows) == ["action", "substate"]
    assert rows[-1].user_id is None  # no request: a script's change has no author
    template = make.email_template("Offer")
    template.subjects = {"en": "Your offer"}
    db.session.commit()
    assert changes(entity="email_template", entity_id=template.id)[-1].after["subjects"] == {"en": "Your offer"}
    db.session.delete(db.session.get(Action, rows[0].entity_id if rows[0].entity == "action" else rows[1].entity_id))
    db.session.commit()
    assert changes(type_id=t.id, operation="delete")[-1].after is None


def test_restore_puts_an_action_back_exactly_and_is_itself_a_change(client, setup, make):
    t, sub = setup["t"], setup["sub"]
    templates = [make.email_template(f"Template {i}") for i in range(3)]
    smtp, other_smtp = make.smtp("Main"), make.smtp("Backup")
    action = make.action(sub, "send_email", "on_open", {})
    _send_email(client, setup, action.id, templates[0], smtp)
    version_one = changes(entity="action", entity_id=action.id)[-1]
    _send_email(client, setup, action.id, templates[1], other_smtp, "owner")
    client.htmx("POST", f"{setup['base']}/actions/{action.id}/toggle", data={"enabled": "0"})
    _send_email(client, setup, action.id, templates[2], smtp, "installer")
    response = client.htmx("POST", f"{T}/{t.id}/changes/{version_one.id}/restore")
    assert response.status_code == 200 and "Restored." in text(response)
    db.session.expire_all()
    restored = flow_versions.snapshot(db.session.get(Action, action.id))
    assert restored == version_one.after
    last = changes(entity="action", entity_id=action.id)[-1]
    assert last.after == version_one.after and last.user_id == setup["manager"].id and last.id > version_one.id


def test_restore_a_substate_and_the_refusals(client, setup, make):
    t, sub = setup["t"], setup["sub"]
    client.htmx("POST", f"{setup['base']}/substates/{sub.id}",
                data={"name": "Site survey", "name_it": "Sopralluogo", "partner_can_act": "y"})
    named = changes(entity="substate", entity_id=sub.id)[-1]
    assert named.after["name"] == "Site survey" and named.after["name_i18n"] == {"it": "Sopralluogo"}
    client.htmx("POST", f"{setup['base']}/substates/{sub.id}", data={"name": "Renamed"})
    assert client.htmx("POST", f"{T}/{t.id}/changes/{named.id}/restore").status_code == 200
    db.session.expire_all()
    now = db.session.get(Substate, sub.id)
    assert (now.name, now.name_i18n, now.partner_can_act) == ("Site survey", {"it": "Sopralluogo"}, True)
    state_change = changes(entity="state")[0]
    response = client.htmx("POST", f"{T}/{t.id}/changes/{state_change.id}/restore")
    assert response.status_code == 409 and "Only a version of an automatic action or a substate" in text(response)
    other = make.flow((1,))
    foreign = changes(type_id=other.id, entity="substate")[0]
    assert client.htmx("POST", f"{T}/{t.id}/changes/{foreign.id}/restore").status_code == 404


def test_filters_and_who_may_do_what(client, setup, make):
    t, sub = setup["t"], setup["sub"]
    make.action(sub)
    page = text(client.htmx("GET", f"{T}/{t.id}/changes?entity=action"))
    assert page.lstrip().startswith('<section id="changes"') and "Automatic action" in page
    assert "Substate “" not in page
    page = text(client.get(f"{T}/{t.id}/changes?from=31/31/2020"))
    assert re.search(r'class="flash flash-error"', page)  # a date that does not read is named, not a 500
    assert "No changes match." in text(client.get(f"{T}/{t.id}/changes?to=01/01/2001"))
    row = changes(entity="action")[-1]
    client.post("/logout")
    client.login(make.user("agent"))
    assert client.get(f"{T}/{t.id}/changes").status_code == 200
    assert "Restore this version" not in text(client.get(f"{T}/{t.id}/changes"))
    assert client.post(f"{T}/{t.id}/changes/{row.id}/restore").status_code == 403
    client.post("/logout")
    client.login(make.partner())
    assert client.get(f"{T}/{t.id}/changes").status_code == 404
    assert client.post(f"{T}/{t.id}/changes/{row.id}/restore").status_code == 404
    assert client.post(f"{T}/{t.id}/changes/{row.id}/restore", csrf=False).status_code in (400, 404)


def test_a_run_records_the_config_version_it_ran_with(app, make):
    from services.substates import open_substate

    t = make.flow((2,))
    first, second = t.substates
    make.action(first, "open_substate", "on_open", {"substate_id": second.id}, enabled=False)
    make.action(first, "add_history_entry", "on_open", {"text": "Hello"})
    opp = make.opportunity(t)
    open_substate(opp, first.id, None)
    db.session.commit()
    version = db.session.get(OpportunityType, t.id).config_version
    runs = list(db.session.execute(select(ActionRun).where(ActionRun.opportunity_id == opp.id)).scalars())
    assert runs and {r.config_version for r in runs} == {version}
    assert changes(type_id=t.id)[-1].version == version
