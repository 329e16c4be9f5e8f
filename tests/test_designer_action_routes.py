"""The panel's automatic actions over htmx: add step by step, the kind's fields swapped in, 422 with the same
form and its messages, prerequisites named, edit, enable/disable, duplicate, copy, reorder, delete."""

import re

import pytest

from engine.kinds import KINDS
from extensions import db
from models import Action

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    return re.findall(r'<small class="error">([^<]*)</small>', text(response))


@pytest.fixture
def setup(client, make):
    client.login(make.user("manager"))
    t = make.flow((2, 1))
    return {"t": t, "sub": t.substates[0], "base": f"{T}/{t.id}", "new": f"{T}/{t.id}/substates/{t.substates[0].id}/actions/new"}


def test_add_action_form_is_the_seeds_step_by_step(client, setup):
    page = text(client.htmx("GET", setup["new"] + "?group=scheduled"))
    for words in ("When does it run?", "Which action?", "Channels", "Submit", "All channels", "Respect working hours"):
        assert words in page
    assert re.search(r'<input[^>]*checked[^>]*value="scheduled"|value="scheduled"[^>]*checked', page)
    for kind in KINDS.values():
        assert f'value="{kind.key}"' in page and str(kind.label) in page
    assert 'hx-get="' in page and 'hx-target="#kind-fields"' in page
    whole = text(client.get(setup["new"]))
    assert "<!doctype html>" in whole and "Which action?" in whole


@pytest.mark.parametrize("kind, field", [
    ("assign_installer", "config-reassign"), ("assign_commercial", "config-reassign"),
    ("open_substate", "config-substate_id"), ("close_substate", "config-substate_id"),
    ("send_email", "config-email_template_id"), ("generate_report", "config-report_template_id"),
    ("create_activity", "config-activity_type_id"), ("esignature", "config-external_action_id"),
    ("export", "config-export_template_id"),
])
def test_kind_fields_come_by_htmx_with_the_missing_prerequisites(client, setup, kind, field):
    url = f"{setup['base']}/substates/{setup['sub'].id}/actions/kind-fields?kind={kind}"
    fragment = text(client.htmx("GET", url))
    assert fragment.lstrip().startswith('<div id="kind-fields"') and f'name="{field}"' in fragment
    if kind not in ("open_substate", "close_substate"):
        assert "This action cannot be saved yet:" in fragment and "Settings → " in fragment


def test_unknown_kind_gives_empty_fields(client, setup):
    url = f"{setup['base']}/substates/{setup['sub'].id}/actions/kind-fields?kind=teleport"
    assert "<select" not in text(client.htmx("GET", url))


def test_substate_choices_are_the_same_types(client, setup, make):
    other = make.flow((1,), name="Other")
    url = f"{setup['base']}/substates/{setup['sub'].id}/actions/kind-fields?kind=open_substate"
    fragment = text(client.htmx("GET", url))
    assert "Substate 2.1" in fragment and f'value="{other.substates[0].id}"' not in fragment
    assert 'optgroup label="State 1"' in fragment and "(this substate)" in fragment


def test_add_a_scheduled_send_email(client, setup, make):
    template, smtp, ch = make.email_template("Reminder"), make.smtp(), make.channel("Web")
    response = client.htmx("POST", setup["new"], data={
        "group": "scheduled", "delay_amount": "4", "delay_unit": "days", "respect_working_hours": "y",
        "kind": "send_email", "config-email_template_id": str(template.id),
        "config-smtp_credential_id": str(smtp.id), "config-recipient": "client",
        "channel_scope": "some", "channels": [str(ch.id)],
    })
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "flow-changed"
    page = text(response)
    assert "Send email" in page and "after 4 days" in page and "“Reminder” → Client" in page and "Web" in page
    action = db.session.execute(db.select(Action)).scalar_one()
    assert (action.group, action.delay_amount, action.delay_unit, action.respect_working_hours) == (
        "scheduled", 4, "days", True)
    assert action.config["email_template_id"] == template.id and [c.name for c in action.channels] == ["Web"]


def test_invalid_action_is_the_same_form_with_messages_and_nothing_saved(client, setup, make):
    make.email_template()
    response = client.htmx("POST", setup["new"], data={
        "group": "scheduled", "delay_amount": "400", "delay_unit": "days", "kind": "send_email",
        "config-email_template_id": "999999", "config-recipient": "client", "channel_scope": "some",
    })
    assert response.status_code == 422
    page = text(response)
    assert page.lstrip().startswith('<aside id="panel"') and "Which action?" in page
    assert errors(response) == [
        "The delay must be a whole number of days from 1 to 365.",
        "The chosen email template does not exist any more.",
        "Choose the SMTP credentials to send with.",
        "Choose at least one channel, or all channels.",
    ]
    assert "Send email needs SMTP credentials." in page and "Settings → SMTP credentials" in page
    assert 'value="400"' in page and re.search(r'value="send_email"[^>]*selected|selected[^>]*value="send_email"', page)
    assert db.session.execute(db.select(Action)).first() is None


def test_no_kind_chosen(client, setup):
    response = client.htmx("POST", setup["new"], data={"group": "on_open", "kind": "", "channel_scope": "all"})
    assert response.status_code == 422 and errors(response) == ["Choose an action."]


def test_edit_toggle_duplicate_reorder_delete(client, setup, make):
    t, sub = setup["t"], setup["sub"]
    target = t.substates[1]
    action = make.action(sub, "open_substate", "on_close", {"substate_id": target.id})
    base = setup["base"]
    form = text(client.htmx("GET", f"{base}/actions/{action.id}/edit"))
    assert "Edit action" in form and re.search(rf'value="{target.id}"[^>]*selected|selected[^>]*value="{target.id}"',
                                               form)
    response = client.htmx("POST", f"{base}/actions/{action.id}/edit", data={
        "group": "on_open", "kind": "close_substate", "config-substate_id": str(target.id), "channel_scope": "all"})
    assert response.status_code == 200
    db.session.expire_all()
    assert (action.group, action.kind) == ("on_open", "close_substate")
    response = client.htmx("POST", f"{base}/actions/{action.id}/toggle", data={"enabled": "0"})
    assert "Disabled" in text(response) and not db.session.get(Action, action.id).enabled
    response = client.htmx("POST", f"{base}/actions/{action.id}/duplicate")
    assert text(response).count('name="ids"') == 2
    copy_id = max(a.id for a in db.session.execute(db.select(Action)).scalars())
    order = f"{base}/substates/{sub.id}/actions/on_open/order"
    response = client.htmx("POST", order, data={"ids": [str(copy_id), str(action.id)]})
    assert response.status_code == 200
    assert re.findall(r'name="ids" value="(\d+)"', text(response)) == [str(copy_id), str(action.id)]
    response = client.htmx("POST", order, data={"ids": [str(copy_id)]})
    assert response.status_code == 422 and "changed meanwhile" in text(response)
    response = client.htmx("POST", f"{base}/actions/{action.id}/delete")
    assert response.status_code == 200 and db.session.get(Action, action.id) is None
    assert 'hx-confirm="Delete the action' in text(response)


def test_copy_to_a_substate_of_another_type(client, setup, make):
    sub = setup["sub"]
    other = make.flow((2,), name="Battery storage")
    action = make.action(sub, "open_substate", "on_close", {"substate_id": setup["t"].substates[1].id})
    form = text(client.htmx("GET", f"{setup['base']}/actions/{action.id}/copy"))
    assert '<optgroup label="Battery storage">' in form and "State 1 › Substate 1.1" in form
    assert f'value="{sub.id}"' not in form
    response = client.htmx("POST", f"{setup['base']}/actions/{action.id}/copy",
                           data={"target": str(other.substates[0].id)})
    assert response.status_code == 200 and "Copied to “Substate 1.1” (Battery storage)" in text(response)
    copy = db.session.execute(db.select(Action).where(Action.substate_id == other.substates[0].id)).scalar_one()
    assert copy.config == {"substate_id": other.substates[1].id}
    response = client.htmx("POST", f"{setup['base']}/actions/{action.id}/copy", data={"target": ""})
    assert response.status_code == 422 and "Choose the substate to copy the action to." in text(response)
    lonely = make.flow((1,), name="Lonely")
    response = client.htmx("POST", f"{setup['base']}/actions/{action.id}/copy",
                           data={"target": str(lonely.substates[0].id)})
    assert response.status_code == 422 and "has no substate named" in text(response)
