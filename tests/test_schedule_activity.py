"""M5 "Schedule activity" through real workers: the due time relative to the run (and the responsible
user's working hours), the responsible (default and chosen), colour, calendar, client, invitees, address,
location (list and free text), link (placeholders; a non-web address fails the run), attachment (upload
and report PDF), and "complete automatically" when the opportunity leaves the substate — and the
opportunity page that shows it all."""

import html
import re
from datetime import UTC, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask_babel import refresh
from sqlalchemy import select

from extensions import db
from models import Action, Activity, Location, StoredFile
from services.substates import close_substate
from tests.engine_support import runs, wait_for
from tests.schedule_support import PDF, activity_of, base_config, count, fresh, run_through, save


def _setup(make, **owner):
    flow = make.flow((2,))
    boss = make.user("manager", name="Olga Owner", **owner)
    customer = make.customer(name="Marco Rossi", address="Via Verdi 3", city="Torino")
    opp = make.opportunity(flow, name="Impianto Rossi", customer=customer, owner=boss)
    return flow, opp, boss


def test_defaults_owner_responsible_and_due_relative_to_the_run(make, workers):
    flow, opp, boss = _setup(make)
    call = make.activity_type("Call")
    save(flow.substates[0], base_config(call, description="About {{ opportunity.name }}"))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "succeeded", run.error
    activity = activity_of(run)
    assert run.result == {"activity_id": activity.id}
    assert (activity.subject, activity.description) == ("Call Marco Rossi", "About Impianto Rossi")
    assert activity.responsible_id == boss.id and activity.type_id == call.id
    assert activity.due_at == (run.due_at + timedelta(hours=2)).replace(microsecond=0)
    assert activity.duration_minutes == 45 and activity.colour == "#2f80ed"
    assert activity.in_calendar and not activity.include_client and activity.invitees == []
    assert activity.auto_complete_substate_id == flow.substates[0].id and not activity.is_completed
    assert activity.created_by_id is None and activity.run_id == run.id


def test_working_hours_move_the_due_time_to_the_responsibles_next_working_moment(make, workers):
    rome = ZoneInfo("Europe/Rome")
    # The owner works one weekday only: two days after now, so the due time must move to that day at 09:00.
    target = (datetime.now(UTC) + timedelta(hours=2)).astimezone(rome) + timedelta(days=2)
    flow, opp, boss = _setup(make, timezone="Europe/Rome", work_days=str(target.isoweekday()),
                             work_start=time(9, 0), work_end=time(18, 0))
    save(flow.substates[0], base_config(make.activity_type(), due_working_hours=True))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "succeeded", run.error
    due = activity_of(run).due_at.replace(tzinfo=UTC).astimezone(rome)
    assert due.date() == target.date() and (due.hour, due.minute) == (9, 0)


def test_chosen_responsible_colour_client_invitees_location_address_and_link(client, make, workers):
    flow, opp, boss = _setup(make)
    chosen = make.user("agent", name="Carla Chosen", language="it")
    lawyer, gone = make.user("agent", name="Luca Lawyer"), make.user("agent", name="Gina Gone")
    room = Location(name="Meeting room", name_i18n={"it": "Sala riunioni"}, address="Via Roma 1", active=True)
    db.session.add(room)
    db.session.commit()
    save(flow.substates[0], base_config(
        make.activity_type("Meeting"), subject="Meeting {{ client.name }}", responsible="user",
        responsible_user_id=chosen.id, colour="#27ae60", include_client=True, in_calendar=False,
        invitee_ids=[lawyer.id, gone.id], location_id=room.id,
        address="{{ client.address }}, {{ client.city }}",
        link="https://meet.example.com/{{ opportunity.id }}?who={{ client.name }}"))
    gone.active = False
    db.session.commit()
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "succeeded", run.error
    activity = activity_of(run)
    assert activity.responsible_id == chosen.id and activity.colour == "#27ae60"
    assert activity.include_client and not activity.in_calendar
    assert [u.name for u in activity.invitees] == ["Luca Lawyer"]  # a deactivated user is left out
    assert activity.location_id == room.id and activity.location_text is None
    assert activity.address == "Via Verdi 3, Torino"
    assert activity.link == f"https://meet.example.com/{opp.id}?who=Marco%20Rossi"
    client.login(boss)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    for words in ("Meeting Marco Rossi", "Carla Chosen", "Green", 'class="swatch"', "Meeting room", "Via Roma 1",
                  "Via Verdi 3, Torino", f'href="https://meet.example.com/{opp.id}?who=Marco%20Rossi"',
                  "Luca Lawyer", "Marco Rossi (client)", "45 minutes"):
        assert words in page, words
    assert "Gina Gone" not in page


def test_free_text_location_and_time_shown_in_the_readers_zone_and_language(client, make, workers):
    flow, opp, boss = _setup(make)
    save(flow.substates[0], base_config(make.activity_type(), location_text="Bar Centrale", duration_minutes="90",
                                        colour="#f2c94c"))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    activity = activity_of(run)
    assert (activity.location_id, activity.location_text) == (None, "Bar Centrale")
    reader = make.user("manager", language="it", timezone="America/New_York")
    client.login(reader)
    refresh()
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    local = activity.due_at.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    assert "Bar Centrale" in page and f"{local:%H:%M}" in page
    assert "Giallo" in page or "Yellow" in page  # the name beside the swatch, in Italian once translated


def test_a_link_that_is_not_a_web_address_fails_the_run(make, workers):
    flow, opp, _boss = _setup(make)
    opp.customer.address = "javascript:alert(document.cookie)"
    db.session.commit()
    save(flow.substates[0], base_config(make.activity_type(), link="{{ client.address }}"))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "failed" and "is not a web address starting with http:// or https://" in run.error
    assert count(Activity) == 0


def test_no_responsible_user_fails_the_run_with_the_reason(make, workers):
    flow = make.flow((2,))
    opp = make.opportunity(flow)  # no owner
    save(flow.substates[0], base_config(make.activity_type()))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "failed" and "no active responsible user" in run.error and count(Activity) == 0


def test_report_template_attachment_is_rendered_to_pdf(client, make, workers):
    flow, opp, boss = _setup(make)
    report = make.report_template("Offer")
    save(flow.substates[0], base_config(make.activity_type(), attachment="report", report_template_id=report.id))
    workers.start(1)
    run = run_through(opp, flow.substates[0])
    assert run.status == "succeeded", run.error
    activity = activity_of(run)
    stored = db.session.get(StoredFile, activity.attachment_id)
    assert stored.opportunity_id == opp.id and stored.kind == "schedule_activity"
    assert stored.filename == f"Offer-{opp.id}.pdf" and stored.content_type == "application/pdf"
    client.login(boss)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    url = f"/opportunities/{opp.id}/files/{stored.id}"
    assert f'href="{url}"' in page
    assert client.get(url).data.startswith(b"%PDF-")


def test_uploaded_attachment_is_copied_to_the_opportunity_and_downloaded_by_who_may_see_it(client, make, workers):
    flow, opp, boss = _setup(make)
    installer = make.company(kind="installer")
    opp.installer = installer
    db.session.commit()
    manager = make.user("manager")
    client.login(manager)
    sub = flow.substates[0]
    call = make.activity_type()
    form = {f"config-{k}": v for k, v in base_config(call, attachment="upload").items()
            if k not in ("due_working_hours", "include_client", "invitee_ids")}
    form |= {"config-in_calendar": "y", "config-auto_complete": "y", "group": "on_open", "kind": "schedule_activity",
             "config-attachment_file": (BytesIO(PDF), "agenda.pdf")}
    response = client.htmx("POST", f"/settings/types/{flow.id}/substates/{sub.id}/actions/new", data=form,
                            content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    workers.start(1)
    run = run_through(opp, sub)
    assert run.status == "succeeded", run.error
    stored = db.session.get(StoredFile, activity_of(run).attachment_id)
    assert (stored.filename, stored.content_type, stored.size) == ("agenda.pdf", "application/pdf", len(PDF))
    url = f"/opportunities/{opp.id}/files/{stored.id}"
    assert client.get(url).data == PDF
    partner = make.user("partner", company=installer)
    client.post("/logout")
    client.login(partner)
    assert f'href="{url}"' in client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert client.get(url).data == PDF
    client.post("/logout")
    client.login(make.partner())  # a company the opportunity is not assigned to
    assert client.get(url).status_code == 404


def test_auto_complete_when_the_substate_closes_and_not_when_unchecked(make, workers):
    flow, opp, boss = _setup(make)
    first, second = flow.substates
    kind_type = make.activity_type()
    save(first, base_config(kind_type, subject="Auto"))
    save(first, base_config(kind_type, subject="Manual", auto_complete=False))
    save(second, base_config(kind_type, subject="Later"))
    workers.start(1)
    run_through(opp, first)
    run_through(opp, second)
    by_subject = {a.subject: a for a in db.session.execute(select(Activity)).scalars()}
    assert not any(a.is_completed for a in by_subject.values())
    assert by_subject["Manual"].auto_complete_substate_id is None
    close_substate(opp, first.id, boss)
    db.session.commit()
    auto, manual, later = (fresh(Activity, by_subject[s].id) for s in ("Auto", "Manual", "Later"))
    assert auto.is_completed and auto.completed_by_id is None
    assert not manual.is_completed and not later.is_completed


def test_an_activity_whose_substate_closed_before_the_run_is_created_completed(make, workers):
    from services.substates import open_substate

    flow, opp, boss = _setup(make)
    save(flow.substates[0], base_config(make.activity_type()))
    open_substate(opp, flow.substates[0].id, boss)
    close_substate(opp, flow.substates[0].id, boss)
    db.session.commit()
    workers.start(1)  # the run goes only now, after the opportunity moved on
    wait_for(lambda: runs() and runs()[0].is_final, timeout=30, message="the run")
    activity = activity_of(runs()[0])
    assert activity.is_completed and activity.completed_by_id is None


def test_closing_rolled_back_leaves_the_activity_open(make, workers):
    flow, opp, boss = _setup(make)
    save(flow.substates[0], base_config(make.activity_type()))
    workers.start(1)
    activity = activity_of(run_through(opp, flow.substates[0]))
    close_substate(opp, flow.substates[0].id, boss)
    db.session.rollback()  # the same transaction: the move and the completion go together or not at all
    assert not fresh(Activity, activity.id).is_completed


# --- the designer's form: every refusal is a message, a 422 and nothing saved ---------------------------

def _post(client, flow, config: dict, files: dict | None = None):
    data = {"group": "on_open", "kind": "schedule_activity", "channel_scope": "all"}
    for key, value in config.items():
        if isinstance(value, bool):
            if value:
                data[f"config-{key}"] = "y"
        elif isinstance(value, list):
            data[f"config-{key}"] = [str(v) for v in value]
        elif value is not None:
            data[f"config-{key}"] = str(value)
    for key, (content, name) in (files or {}).items():
        data[f"config-{key}"] = (BytesIO(content), name)
    return client.htmx("POST", f"/settings/types/{flow.id}/substates/{flow.substates[0].id}/actions/new",
                       data=data, content_type="multipart/form-data")


def _uploads(app) -> list:
    folder = Path(app.config["FILES_DIR"]) / "action-uploads"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def designer(client, make):
    client.login(make.user("manager"))
    return make.flow((2,)), make.activity_type("Call")


@pytest.mark.parametrize("change, files, message", [
    ({"activity_type_id": 99999}, None, "The chosen activity type does not exist or is not active."),
    ({"subject": ""}, None, "Enter a subject of at most 200 characters."),
    ({"subject": "{{ client.__class__ }}"}, None, "The placeholders are not valid"),
    ({"due_amount": "soon"}, None, "The due time must be a whole number from 0 to"),
    ({"due_amount": "400", "due_unit": "days"}, None, "The due time must be a whole number from 0 to 365"),
    ({"due_unit": "weeks"}, None, "Choose minutes, hours or days."),
    ({"duration_minutes": "0"}, None, "The duration must be a whole number of minutes from 1 to 1440."),
    ({"responsible": "user"}, None, "Choose the responsible user."),
    ({"responsible": "user", "responsible_user_id": 99999}, None, "The chosen user does not exist or is not active."),
    ({"responsible": "boss"}, None, "Choose who is responsible."),
    ({"colour": "#000000"}, None, "Choose one of the colours."),
    ({"invitee_ids": [99999]}, None, "One of the chosen users does not exist any more."),
    ({"location_id": 99999}, None, "The chosen location does not exist or is not active."),
    ({"link": "javascript:alert(1)"}, None, "The link must be a web address starting with http:// or https://."),
    ({"link": "javascript:alert('{{ client.name }}')"}, None, "The link must be a web address starting with"),
    ({"link": "https://"}, None, "The link must be a web address starting with http:// or https://."),
    ({"attachment": "upload"}, None, "Choose a file to attach."),
    ({"attachment": "upload"}, {"attachment_file": (b"MZ\x90\x00", "setup.exe")}, "Files of this type cannot be attached."),
    ({"attachment": "upload"}, {"attachment_file": (b"<html>", "agenda.pdf")}, "does not match its type (.pdf)"),
    ({"attachment": "upload"}, {"attachment_file": (b"", "empty.txt")}, "The file is empty."),
    ({"attachment": "upload"}, {"attachment_file": (PDF + b"x" * 300, "big.pdf")}, "The file is larger than"),
    ({"attachment": "upload", "attachment_upload": "0" * 64 + "/forged.pdf"}, None, "is missing: upload it again."),
    ({"attachment": "report"}, None, "Choose a report template."),
    ({"attachment": "report", "report_template_id": 99999}, None, "The chosen report template does not exist"),
    ({"attachment": "letter"}, None, "Choose an attachment or none."),
    # A good file with another field refused: the file is not kept either.
    ({"attachment": "upload", "colour": "#000000"}, {"attachment_file": (PDF, "agenda.pdf")}, "Choose one of the colours."),
])
def test_bad_input_is_refused_with_its_message_and_nothing_saved(app, client, designer, change, files, message):
    flow, call = designer
    app.config["UPLOAD_MAX_BYTES"] = 256
    response = _post(client, flow, base_config(call, **change), files)
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert count(Action) == 0 and _uploads(app) == []


def test_a_location_from_the_list_or_written_not_both(client, designer):
    flow, call = designer
    room = Location(name="Room", name_i18n={}, active=True)
    db.session.add(room)
    db.session.commit()
    response = _post(client, flow, base_config(call, location_id=room.id, location_text="Bar"))
    assert response.status_code == 422 and count(Action) == 0
    assert "Choose a location from the list or write one, not both." in response.get_data(as_text=True)


def test_partner_users_are_not_offered_as_responsible_or_invitees(client, designer, make):
    flow, call = designer
    partner = make.partner()
    for change in ({"responsible": "user", "responsible_user_id": partner.id}, {"invitee_ids": [partner.id]}):
        assert _post(client, flow, base_config(call, **change)).status_code == 422
    assert count(Action) == 0


def test_the_form_offers_the_options_with_their_defaults(client, designer):
    flow, _call = designer
    url = f"/settings/types/{flow.id}/substates/{flow.substates[0].id}/actions/kind-fields?kind=schedule_activity"
    fragment = client.htmx("GET", url).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="config-auto_complete"|name="config-auto_complete"[^>]*checked',
                     fragment)
    for words in ("Yellow", "Green", "Purple", 'class="swatch"', 'type="file"', "Add to calendar",
                  "Add the client as a participant", "Invite users", "Other location", "A report template as PDF"):
        assert words in fragment, words
    page = client.get(f"/settings/types/{flow.id}/substates/{flow.substates[0].id}/actions/new").get_data(True)
    assert 'hx-encoding="multipart/form-data"' in page


def test_an_uploaded_file_is_kept_and_survives_an_edit_without_a_new_file(app, client, designer):
    flow, call = designer
    response = _post(client, flow, base_config(call, attachment="upload"), {"attachment_file": (PDF, "agenda.pdf")})
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    action = db.session.execute(select(Action)).scalar_one()
    token = action.config["attachment_upload"]
    assert token.endswith("/agenda.pdf") and [p.read_bytes() for p in _uploads(app)] == [PDF]
    edit = client.htmx("GET", f"/settings/types/{flow.id}/actions/{action.id}/edit").get_data(as_text=True)
    assert "Kept: agenda.pdf" in edit and f'value="{token}"' in edit
    response = client.htmx("POST", f"/settings/types/{flow.id}/actions/{action.id}/edit", data={
        "group": "on_open", "kind": "schedule_activity", "channel_scope": "all",
        **{f"config-{k}": v for k, v in base_config(call, attachment="upload", subject="Renamed",
                                                    attachment_upload=token).items()
           if not isinstance(v, (bool, list))}, "config-auto_complete": "y"})
    assert response.status_code == 200
    saved = fresh(Action, action.id)
    assert saved.config["attachment_upload"] == token and saved.config["subject"] == "Renamed"


def test_the_run_is_listed_in_the_activities_history_tab(client, make, workers):
    flow, opp, boss = _setup(make)
    save(flow.substates[0], base_config(make.activity_type("Site visit")))
    workers.start(1)
    run_through(opp, flow.substates[0])
    client.login(make.user("admin"))
    page = client.get("/account/history/activities").get_data(as_text=True)
    assert "Site visit" in page and "Impianto Rossi" in page and "Not completed" in page
