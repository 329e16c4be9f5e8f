"""D14: a flow exported to JSON imports into an empty type (or as a new type) as the identical flow; a broken
or hostile file is refused as a whole with messages that name the bad item, 4xx, nothing saved."""

import io
import json

import pytest
from sqlalchemy import func, select

from extensions import db
from models import (
    Action,
    FlowChange,
    OpportunityType,
    ProcessAutomation,
    State,
    Substate,
    SubstateRequirement,
    Trigger,
)
from services import flow_transfer

T = "/settings/types"


def text(response) -> str:
    return response.get_data(as_text=True)


def counts() -> tuple:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (
        OpportunityType, State, Substate, Action, Trigger, SubstateRequirement, ProcessAutomation))


def rich_flow(make):
    """A flow with translations, archived parts, actions referring to records and to its own substates,
    channels, a trigger, required fields and a process automation."""
    t = make.flow((2, 2), name="Solar")
    t.name_i18n = {"it": "Fotovoltaico"}
    first, second, third, fourth = t.substates
    first.name_i18n, second.archived, third.partner_can_act, fourth.requires_note = {"es": "Uno"}, True, True, True
    template, smtp, owner = make.email_template("Welcome"), make.smtp("Main"), make.user("manager")
    web = make.channel("Web")
    make.action(first, "send_email", "on_open", {"email_template_id": template.id, "smtp_credential_id": smtp.id,
                                                 "recipient": "client", "extra_user_ids": [owner.id]},
                channels=[web])
    make.action(first, "open_substate", "on_close", {"substate_id": third.id})
    make.action(first, "close_substate", "scheduled", {"substate_id": second.id}, delay_amount=2,
                delay_unit="days", respect_working_hours=True, enabled=False)
    make.action(first, "add_history_entry", "on_open", {"text": "Started {{ opportunity.name }}",
                                                        "author_id": owner.id})
    db.session.add(Trigger(substate_id=third.id, kind="task_status", name="Survey done", position=0,
                           config={"status": "completed", "title_words": "survey", "responsible_id": owner.id},
                           as_user_id=owner.id, allow_back=True))
    db.session.add(SubstateRequirement(substate_id=fourth.id, system_field="contact_person"))
    db.session.add(ProcessAutomation(name="Company filled", system_field="company_name", type_id=t.id,
                                     substate_id=fourth.id, active=True, field_name="Company name",
                                     substate_name=fourth.name))
    db.session.commit()
    return t


def comparable(doc: dict) -> dict:
    """The export without what names the copy itself."""
    return {k: v for k, v in doc.items() if k not in ("exported_at", "type")}


@pytest.fixture
def manager(client, make):
    user = make.user("manager")
    client.login(user)
    return user


def upload(client, content: bytes | str, **form):
    """POST the file as a browser does. The body is built here: werkzeug's test builder would spool a large
    one to a temporary file it never closes (a ResourceWarning, an error under filterwarnings)."""
    if isinstance(content, str):
        content = content.encode()
    boundary = "----oppflow-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in form.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="flow.json"\r\n'
                 f'Content-Type: application/json\r\n\r\n'.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(f"{T}/import", input_stream=io.BytesIO(body), content_length=len(body),
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_export_then_import_into_an_empty_type_gives_the_identical_flow(client, manager, make):
    source = rich_flow(make)
    response = client.get(f"{T}/{source.id}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    doc = json.loads(text(response))
    assert doc["format"] == "oppflow.flow" and doc["version"] == 1
    action = doc["states"][0]["substates"][0]["actions"][0]
    assert action["config"]["email_template_id"] == {"ref": "email_template", "name": "Welcome"}
    assert action["channels"] == ["Web"] and doc["references"]["email_template"] == ["Welcome"]
    empty = make.flow((), name="Empty")
    # A field serves one process automation per installation: as on another installation, the field is free.
    for automation in db.session.execute(select(ProcessAutomation)).scalars():
        db.session.delete(automation)
    db.session.commit()
    response = upload(client, json.dumps(doc), target=str(empty.id))
    assert response.status_code == 302 and response.location.endswith(f"{T}/{empty.id}"), text(response)[-3000:]
    db.session.expire_all()
    copy = db.session.get(OpportunityType, empty.id)
    assert comparable(flow_transfer.export_type(copy)) == comparable(doc)
    copied = copy.substates[0].actions
    by_kind = {a.kind: a for a in copied}
    assert by_kind["open_substate"].config["substate_id"] == copy.substates[2].id  # its own substate, not the source's
    assert {c.entity for c in db.session.execute(select(FlowChange).where(FlowChange.type_id == copy.id)).scalars()} \
        >= {"state", "substate", "action", "trigger", "requirement"}


def test_import_as_a_new_type_named_in_the_form_and_a_taken_name(client, manager, make):
    source = make.flow((1, 1), name="Heat pumps")
    make.action(source.substates[0], "open_substate", "on_close", {"substate_id": source.substates[1].id})
    body = text(client.get(f"{T}/{source.id}/export.json"))
    before = counts()
    response = upload(client, body, target="new")
    assert response.status_code == 422 and "already exists" in text(response)
    assert counts() == before
    response = upload(client, body, target="new", name="Heat pumps (copy)")
    assert response.status_code == 302
    copy = db.session.execute(select(OpportunityType).filter_by(name="Heat pumps (copy)")).scalar_one()
    assert [s.name for s in copy.substates] == ["Substate 1.1", "Substate 2.1"]


def _doc(make) -> dict:
    t = make.flow((1,), name=f"Base {make.channel().id}")
    make.action(t.substates[0], "add_history_entry", "on_open", {"text": "Hi"})
    return flow_transfer.export_type(t)


@pytest.mark.parametrize("mutate, status, message", [
    (lambda d: d["states"][0]["substates"][0]["actions"].append({"group": "on_open", "kind": "x", "config": {}}),
     422, "states[0].substates[0].actions[1]: unknown action kind “x”."),
    # What the designer's own form refuses, checked once the flow's substates exist.
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(text="Hi {{ opportunity.name"),
     422, "states[0].substates[0].actions[0].config.text: The placeholders are not valid (line 1)"),
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(text="   "),
     422, "states[0].substates[0].actions[0].config.text: Write the text of the entry."),
    (lambda d: d["states"][0]["substates"][0]["actions"].append(
        {"group": "on_open", "kind": "open_substate", "config": {}}),
     422, "states[0].substates[0].actions[1].config.substate_id: Choose a substate."),
    (lambda d: d["states"][0]["substates"][0]["actions"].append(
        {"group": "scheduled", "kind": "add_history_entry", "config": {"text": "Later"}, "delay_amount": 400,
         "delay_unit": "days"}),
     422, "states[0].substates[0].actions[1]: The delay must be a whole number of days from 1 to 365."),
    (lambda d: d["states"][0]["substates"][0].setdefault("triggers", []).append(
        {"kind": "task_status", "name": "Done", "config": {"status": "bogus"}}),
     422, "states[0].substates[0].triggers[0].config.status: Choose the task status that sets the trigger off."),
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(
        email_template_id={"ref": "email_template", "name": "Nowhere"}),
     422, "states[0].substates[0].actions[0].config.email_template_id: no email template “Nowhere” in this"),
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(email_template_id=1),
     422, "must name a record by reference"),
    (lambda d: d["states"][0]["substates"][0]["actions"][0].update(group="later", delay_amount=-1),
     422, "states[0].substates[0].actions[0].group: must be one of on_open, on_close, scheduled."),
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(
        substate_id={"ref": "substate", "key": "S99"}), 422, "no substate “S99” in this file."),
    (lambda d: d["states"][0]["substates"][0].update(name="x" * 500, required=["no_such_field"]),
     422, "states[0].substates[0].name: must be a text of 1 to 120 characters."),
    (lambda d: d["states"][0].update(name="bad\x00name"), 422, "states[0].name: must be a text"),
    (lambda d: d.update(version=99), 422, "this installation reads version 1"),
    (lambda d: d.update(format="something"), 422, "This is not an oppflow flow file"),
    (lambda d: d["states"].append("nonsense"), 422, "states[1]: must be an object."),
    (lambda d: d["states"][0]["substates"][0]["actions"][0]["config"].update(
        text=[[[[[[[[[[["deep"]]]]]]]]]]]), 422, "is nested too deeply."),
])
def test_a_broken_file_is_refused_whole_with_the_path_of_each_problem(client, manager, make, mutate, status, message):
    doc = _doc(make)
    mutate(doc)
    before = counts()
    response = upload(client, json.dumps(doc), target="new", name="Imported")
    assert response.status_code == status and message in text(response), text(response)[-1500:]
    assert "nothing was saved" in text(response)
    assert counts() == before


@pytest.mark.parametrize("content, status, message", [
    (b"{not json", 422, "The file is not valid JSON."),
    (b"\xff\xfe\x00garbage", 422, "The file is not valid JSON."),
    (b"[" * 200_000 + b"]" * 200_000, 422, "The file is not valid JSON."),  # a nesting bomb within the size limit
    (b"1" * 5000, 422, "The file is not valid JSON."),  # an integer past Python's digit limit
    (b" " * (1024 * 1024 + 1), 413, "The file is larger than 1024 KB."),
    (b"[]", 422, "This is not an oppflow flow file"),
])
def test_hostile_files_are_refused_before_any_work(client, manager, content, status, message):
    before = counts()
    response = upload(client, content, target="new")
    assert response.status_code == status and message in text(response)
    assert counts() == before


def test_only_an_empty_type_takes_an_import_and_who_may(client, manager, make):
    doc = json.dumps(_doc(make))
    busy = make.flow((1,), name="Busy")
    before = counts()
    response = upload(client, doc, target=str(busy.id))
    assert response.status_code == 422 and "already has states" in text(response)
    assert upload(client, doc, target="999999").status_code == 404
    assert upload(client, b"", target="new").status_code == 422
    assert counts() == before
    page = text(client.get(f"{T}/import"))
    assert "Import a flow" in page and 'value="Busy"' not in page and 'type="file"' in page
    client.post("/logout")
    client.login(make.user("agent"))
    assert client.get(f"{T}/{busy.id}/export.json").status_code == 200
    assert upload(client, doc, target="new", name="Agent's").status_code == 403
    client.post("/logout")
    client.login(make.partner())
    assert client.get(f"{T}/{busy.id}/export.json").status_code == 404
    assert upload(client, doc, target="new", name="Partner's").status_code == 404
    assert counts() == before


def test_an_uploaded_attachment_stays_behind_and_the_imported_action_has_none(client, manager, make):
    """The file does not travel in the document: the copy's action is valid, with no attachment."""
    t = make.flow((1,), name="With a file")
    visit = make.activity_type("Visit")
    make.action(t.substates[0], "schedule_activity", "on_open", {
        "activity_type_id": visit.id, "subject": "Survey", "description": "", "due_amount": 2, "due_unit": "days",
        "due_working_hours": True, "duration_minutes": 60, "responsible": "owner", "responsible_user_id": None,
        "colour": "#27ae60", "in_calendar": True, "include_client": True, "invitee_ids": [], "address": "",
        "location_id": None, "location_text": "", "link": "", "attachment": "upload",
        "attachment_upload": "kept-upload-token", "report_template_id": None, "auto_complete": True})
    response = upload(client, json.dumps(flow_transfer.export_type(t)), target="new", name="Copied")
    assert response.status_code == 302, text(response)[-1500:]
    copy = db.session.execute(select(OpportunityType).filter_by(name="Copied")).scalar_one()
    (action,) = copy.substates[0].actions
    assert action.config["attachment"] == "none" and action.config["attachment_upload"] is None
    assert action.config["subject"] == "Survey" and action.config["activity_type_id"] == visit.id
