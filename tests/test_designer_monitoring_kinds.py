"""The designer's forms of the monitoring kinds (M1–M4): their fields come by htmx, bad input is refused with
each message (422, nothing saved), valid input is saved and summarised, a saved action opens and saves
again, and a substate another type's "Complete tasks" names cannot be deleted."""

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Action
from services import ServiceError
from services import flow as flow_svc

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def errors(response) -> list[str]:
    return re.findall(r'<small class="error">([^<]*)</small>', text(response))


def saved() -> int:
    return db.session.scalar(select(func.count()).select_from(Action))


@pytest.fixture
def setup(client, make):
    manager = make.user("manager", name="Maria Manager")
    client.login(manager)
    t = make.flow((2, 1))
    sub = t.substates[0]
    return {"t": t, "sub": sub, "manager": manager, "base": f"{T}/{t.id}",
            "new": f"{T}/{t.id}/substates/{sub.id}/actions/new",
            "fields": f"{T}/{t.id}/substates/{sub.id}/actions/kind-fields?kind="}


def post(client, setup, kind, **config):
    data = {"group": "on_open", "kind": kind, "channel_scope": "all"}
    data.update({f"config-{k}": v for k, v in config.items()})
    return client.htmx("POST", setup["new"], data=data)


@pytest.mark.parametrize("kind,names", [
    ("notify_supervisor", ["message", "include_supervisor", "user_ids", "by_email", "smtp_credential_id"]),
    ("add_history_entry", ["text", "author_id"]),
    ("create_task", ["title", "description", "responsible", "responsible_user_id", "deadline_amount",
                     "deadline_unit", "working_hours", "participant_ids", "observer_ids"]),
    ("complete_tasks", ["type_ids", "substate_ids"]),
])
def test_kind_fields_come_by_htmx(client, setup, kind, names):
    fragment = text(client.htmx("GET", setup["fields"] + kind))
    assert fragment.lstrip().startswith('<div id="kind-fields"')
    for name in names:
        assert f'name="config-{name}"' in fragment
    if kind == "notify_supervisor":
        assert "{{ owner.name }}" in fragment and "{{ opportunity.amount }}" in fragment
        assert re.search(r'checked[^>]*name="config-include_supervisor"|name="config-include_supervisor"[^>]*checked',
                         fragment)
    if kind == "complete_tasks":
        assert f'optgroup label="{setup["t"].label}"' in fragment


def test_notify_supervisor_refusals(client, setup, make):
    response = post(client, setup, "notify_supervisor", message="", user_ids="999999", by_email="y")
    assert response.status_code == 422 and saved() == 0
    assert errors(response) == ["Write the message.",
                                "One of the chosen users does not exist any more or is not an active internal user.",
                                "Choose the SMTP credentials to send with."]
    response = post(client, setup, "notify_supervisor", message="{{ opportunity.name ")
    assert response.status_code == 422 and errors(response)[0].startswith("The placeholders are not valid")
    response = post(client, setup, "notify_supervisor", message="")
    assert response.status_code == 422 and errors(response) == [
        "Write the message.", "Choose who receives the message: the supervisor, other users, or both."]
    partner = make.partner()
    response = post(client, setup, "notify_supervisor", message="Hi", user_ids=str(partner.id))
    assert response.status_code == 422 and saved() == 0


def test_notify_supervisor_saved_and_summarised(client, setup, make):
    smtp = make.smtp("Company mail")
    response = post(client, setup, "notify_supervisor", message="{{ owner.name }}: {{ opportunity.amount }}",
                    include_supervisor="y", user_ids=str(setup["manager"].id), by_email="y",
                    smtp_credential_id=str(smtp.id))
    assert response.status_code == 200, errors(response)
    action = db.session.execute(select(Action)).scalar_one()
    assert action.config == {"message": "{{ owner.name }}: {{ opportunity.amount }}", "include_supervisor": True,
                             "user_ids": [setup["manager"].id], "by_email": True, "smtp_credential_id": smtp.id}
    assert "supervisor + 1 users" in text(response) and "also by email (“Company mail”)" in text(response)


def test_notify_without_email_needs_no_credentials(client, setup):
    response = post(client, setup, "notify_supervisor", message="Hi", include_supervisor="y")
    assert response.status_code == 200, errors(response)
    assert db.session.execute(select(Action.config)).scalar_one()["smtp_credential_id"] is None


def test_add_history_entry_refusals_and_save(client, setup):
    response = post(client, setup, "add_history_entry", text="", author_id="")
    assert response.status_code == 422 and saved() == 0
    assert sorted(errors(response)) == sorted(["Choose the user the entry is written for.", "Write the text of the entry."])
    response = post(client, setup, "add_history_entry", text="Late", author_id="999999")
    assert errors(response) == ["The chosen user does not exist any more or is not an active internal user."]
    response = post(client, setup, "add_history_entry", text="Late {{ opportunity.name }}",
                    author_id=str(setup["manager"].id))
    assert response.status_code == 200 and "“Maria Manager” · Late" in text(response)


def test_create_task_refusals(client, setup):
    response = post(client, setup, "create_task", title="", responsible="user", responsible_user_id="",
                    deadline_amount="abc", deadline_unit="days")
    assert response.status_code == 422 and saved() == 0
    assert sorted(errors(response)) == sorted([
        "Give the task a title.", "Choose the user responsible for the task.",
        "The deadline must be a whole number from 1 to 365 days (at most 365 days)."])
    response = post(client, setup, "create_task", title="x", responsible="nobody", deadline_unit="weeks",
                    observer_ids="999999")
    assert response.status_code == 422 and sorted(errors(response)) == sorted([
        "Choose who is responsible for the task.", "Choose minutes, hours or days.",
        "One of the chosen users does not exist any more or is not an active internal user."])
    response = post(client, setup, "create_task", title="x" * 201, responsible="owner", deadline_unit="hours",
                    deadline_amount="9000")
    assert response.status_code == 422 and saved() == 0


def test_create_task_saved_edited_and_saved_again(client, setup, make):
    helper = make.user("agent", name="Helper")
    response = post(client, setup, "create_task", title="Prepara il progetto {{ client.name }}", description="",
                    responsible="supervisor", deadline_amount="2", deadline_unit="days", working_hours="y",
                    participant_ids=str(helper.id))
    assert response.status_code == 200, errors(response)
    action = db.session.execute(select(Action)).scalar_one()
    assert action.config["deadline_amount"] == 2 and action.config["participant_ids"] == [helper.id]
    assert "The supervisor of the opportunity&#39;s responsible user" in text(response)
    assert "deadline after 2 days" in text(response)
    form = text(client.htmx("GET", f"{setup['base']}/actions/{action.id}/edit"))
    assert 'value="2"' in form and "Prepara il progetto" in form
    response = client.htmx("POST", f"{setup['base']}/actions/{action.id}/edit", data={
        "group": "on_open", "kind": "create_task", "channel_scope": "all", "config-title": "Nuovo",
        "config-responsible": "owner", "config-deadline_amount": "3", "config-deadline_unit": "hours"})
    assert response.status_code == 200, errors(response)
    db.session.expire_all()
    assert db.session.get(Action, action.id).config["deadline_amount"] == 3


def test_complete_tasks_refusals_and_save(client, setup, make):
    t, other = setup["t"], make.flow((1,), name="Battery storage")
    response = post(client, setup, "complete_tasks", type_ids=str(t.id))
    assert response.status_code == 422 and errors(response) == ["Choose at least one substate."]
    response = post(client, setup, "complete_tasks", type_ids="999999", substate_ids="999999")
    assert sorted(errors(response)) == sorted(["One of the chosen opportunity types does not exist any more.",
                                               "One of the chosen substates does not exist any more."])
    response = post(client, setup, "complete_tasks", substate_ids=str(t.substates[1].id))
    assert errors(response) == ["Choose at least one opportunity type."]
    response = post(client, setup, "complete_tasks", type_ids=str(t.id), substate_ids=str(other.substates[0].id))
    assert errors(response) == [f"“{other.substates[0].label}” is not a substate of a chosen opportunity type."]
    assert saved() == 0
    response = client.htmx("POST", setup["new"], data={
        "group": "on_open", "kind": "complete_tasks", "channel_scope": "all", "config-type_ids": [t.id, other.id],
        "config-substate_ids": [t.substates[1].id, other.substates[0].id]})
    assert response.status_code == 200, errors(response)
    assert f"“{other.substates[0].label}”" in text(response)


def test_a_substate_named_by_complete_tasks_of_another_type_cannot_be_deleted(app, make):
    t, other = make.flow((2,)), make.flow((2,), name="Battery storage")
    target = other.substates[1]
    make.action(t.substates[0], "complete_tasks", config={"type_ids": [other.id], "substate_ids": [target.id]})
    with pytest.raises(ServiceError) as err:
        flow_svc.delete_substate(target)
    assert err.value.status == 409 and "refers to it" in err.value.message
    flow_svc.delete_substate(other.substates[0])  # not named: deleted
    db.session.commit()


def test_copies_to_another_type_keep_their_config(app, make):
    from services import actions as actions_svc

    t, other = make.flow((2,)), make.flow((1,), name="Battery storage")
    user = make.user("manager")
    complete = make.action(t.substates[1], "complete_tasks",
                           config={"type_ids": [t.id], "substate_ids": [t.substates[0].id]})
    task = make.action(t.substates[0], "create_task", config={
        "title": "Call", "description": "", "responsible": "user", "responsible_user_id": user.id,
        "deadline_amount": 3, "deadline_unit": "hours", "working_hours": True, "participant_ids": [user.id],
        "observer_ids": []})
    for action in (complete, task):
        copy = actions_svc.copy_action(action, other.substates[0])
        db.session.commit()
        assert copy.config == action.config and copy.kind == action.kind
