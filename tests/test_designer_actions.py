"""services.actions and the kinds registry: validation, prerequisites (D7), order, duplicate, copy (D8)."""

import pytest
from flask import url_for

from engine.kinds import KINDS, get_kind
from engine.kinds.base import SETTINGS_PAGES, Missing
from extensions import db
from models import Action
from services import ServiceError
from services import actions as svc
from services.actions import ActionData, ActionRefused


def data(kind="open_substate", group="on_open", config=None, **kw) -> ActionData:
    return ActionData(group=group, kind=kind, config=config or {}, **kw)


def refused(substate, d: ActionData) -> ActionRefused:
    with pytest.raises(ActionRefused) as err:
        svc.save_action(substate, d)
    db.session.rollback()
    return err.value


@pytest.fixture
def mail(make):
    """An email template and SMTP credentials: what Send email needs."""
    return {"email_template_id": make.email_template().id, "smtp_credential_id": make.smtp().id,
            "recipient": "client"}


def test_registry_lists_the_nine_kinds_of_spec_in_order():
    # Test-only plug-in kinds (the engine tests load some) come after SPEC's nine.
    assert list(KINDS)[:9] == ["assign_installer", "assign_commercial", "open_substate", "close_substate",
                               "send_email", "generate_report", "create_activity", "esignature", "export"]
    for kind in KINDS.values():
        assert str(kind.label) and str(kind.help) and kind.key
    assert get_kind("nope") is None and get_kind(None) is None


def test_open_substate_is_saved_last_in_its_group(app, make):
    t = make.flow((3,))
    a, b, c = t.substates
    first = svc.save_action(a, data(config={"substate_id": b.id}))
    second = svc.save_action(a, data("close_substate", config={"substate_id": c.id}))
    other_group = svc.save_action(a, data(group="on_close", config={"substate_id": c.id}))
    db.session.commit()
    assert (first.position, second.position, other_group.position) == (0, 1, 0)
    assert first.config == {"substate_id": b.id} and first.enabled and first.channels == []
    assert first.delay_amount is None


def test_referenced_substate_must_belong_to_the_same_type(app, make):
    t, other = make.flow((2,)), make.flow((1,))
    err = refused(t.substates[0], data(config={"substate_id": other.substates[0].id}))
    assert err.errors == {"config-substate_id": "The chosen substate is not part of this opportunity type."}
    err = refused(t.substates[0], data(config={}))
    assert err.errors == {"config-substate_id": "Choose a substate."}
    archived = t.substates[1]
    archived.archived = True
    db.session.commit()
    assert "config-substate_id" in refused(t.substates[0], data(config={"substate_id": archived.id})).errors
    # The substate itself may be the target, e.g. to close itself some days after it opened.
    svc.save_action(t.substates[0], data("close_substate", "scheduled", {"substate_id": t.substates[0].id},
                                         delay_amount=3, delay_unit="days"))


@pytest.mark.parametrize("amount, unit", [
    ("0", "days"), ("-1", "days"), ("abc", "days"), ("1.5", "days"), ("", "days"), (None, "days"),
    ("366", "days"), ("8761", "hours"), ("525601", "minutes"),
])
def test_delay_must_be_a_positive_whole_number_of_at_most_365_days(app, make, amount, unit):
    t = make.flow((2,))
    err = refused(t.substates[0], data(group="scheduled", config={"substate_id": t.substates[1].id},
                                       delay_amount=amount, delay_unit=unit))
    assert list(err.errors) == ["delay_amount"]
    assert "365" in err.errors["delay_amount"]


@pytest.mark.parametrize("amount, unit", [("1", "minutes"), ("525600", "minutes"), ("8760", "hours"),
                                          (" 365 ", "days"), (4, "days")])
def test_delays_up_to_365_days_are_accepted(app, make, amount, unit):
    t = make.flow((2,))
    action = svc.save_action(t.substates[0], data(group="scheduled", config={"substate_id": t.substates[1].id},
                                                  delay_amount=amount, delay_unit=unit, respect_working_hours=True))
    assert action.delay_amount == int(str(amount).strip()) and action.delay_unit == unit
    assert action.respect_working_hours


def test_delay_unit_is_required_and_other_groups_drop_the_delay(app, make):
    t = make.flow((2,))
    err = refused(t.substates[0], data(group="scheduled", config={"substate_id": t.substates[1].id},
                                       delay_amount="3", delay_unit="weeks"))
    assert "delay_unit" in err.errors
    action = svc.save_action(t.substates[0], data(config={"substate_id": t.substates[1].id}, delay_amount="3",
                                                  delay_unit="days", respect_working_hours=True))
    assert (action.delay_amount, action.delay_unit, action.respect_working_hours) == (None, None, False)


def test_unknown_group_and_kind_are_named(app, make):
    t = make.flow((1,))
    err = refused(t.substates[0], data(kind="teleport", group="sometimes"))
    assert set(err.errors) == {"group", "kind"}


def test_send_email_needs_a_template_and_smtp_credentials(app, make):
    t = make.flow((1,))
    err = refused(t.substates[0], data("send_email", config={"recipient": "client"}))
    assert [m.message for m in err.missing] == ["Send email needs an email template.",
                                                "Send email needs SMTP credentials."]
    assert [m.page for m in err.missing] == ["Settings → Email templates", "Settings → SMTP credentials"]
    assert "Send email needs an email template." in err.message


def test_referenced_template_must_exist(app, make, mail):
    t = make.flow((1,))
    err = refused(t.substates[0], data("send_email", config={**mail, "email_template_id": 999999}))
    assert err.errors == {"config-email_template_id": "The chosen email template does not exist any more."}
    err = refused(t.substates[0], data("send_email", config={**mail, "recipient": "neighbour"}))
    assert list(err.errors) == ["config-recipient"]
    err = refused(t.substates[0], data("send_email", config={**mail, "extra_user_ids": [999999]}))
    assert list(err.errors) == ["config-extra_user_ids"]
    partner = make.partner()
    err = refused(t.substates[0], data("send_email", config={**mail, "extra_user_ids": [partner.id]}))
    assert list(err.errors) == ["config-extra_user_ids"]  # internal users only
    boss = make.user("admin")
    action = svc.save_action(t.substates[0], data("send_email", "scheduled", {**mail, "extra_user_ids": [boss.id]},
                                                  delay_amount="4", delay_unit="days"))
    assert action.config == {**mail, "extra_user_ids": [boss.id]}


def _prepare(make, kind: str, t):
    """Create everything `kind` needs; return a valid config."""
    if kind in ("assign_installer", "assign_commercial"):
        make.assignment_rule(kind.split("_")[1])
        return {"reassign": True}
    if kind in ("open_substate", "close_substate"):
        return {"substate_id": t.substates[1].id}
    cfg = {"recipient": "client"}
    if kind in ("send_email", "generate_report"):
        cfg |= {"email_template_id": make.email_template().id, "smtp_credential_id": make.smtp().id}
    if kind == "generate_report":
        cfg["report_template_id"] = make.report_template().id
    if kind == "create_activity":
        return {"activity_type_id": make.activity_type().id, "description": "Call {{ client.name }}"}
    if kind == "notify_supervisor":
        return {"message": "{{ owner.name }}: {{ opportunity.amount }}", "include_supervisor": True}
    if kind == "add_history_entry":
        return {"text": "Late: {{ opportunity.name }}", "author_id": make.user("manager").id}
    if kind == "create_task":
        return {"title": "Call {{ client.name }}", "responsible": "user", "responsible_user_id": make.user().id,
                "deadline_amount": 2, "deadline_unit": "days"}
    if kind == "complete_tasks":
        return {"type_ids": [t.id], "substate_ids": [t.substates[1].id]}
    if kind == "schedule_activity":
        return {"activity_type_id": make.activity_type().id, "subject": "Call {{ client.name }}"}
    if kind == "esignature":
        cfg |= {"report_template_id": make.report_template().id, "external_action_id": make.external_action().id}
    if kind == "export":
        cfg |= {"export_template_id": make.export_template().id, "smtp_credential_id": make.smtp().id}
    return cfg


MISSING = {
    "assign_installer": ["Assign installer needs assignment criteria for installer companies"],
    "assign_commercial": ["Assign commercial needs assignment criteria for commercial companies"],
    "open_substate": [],
    "close_substate": [],
    "send_email": ["needs an email template", "needs SMTP credentials"],
    "generate_report": ["needs a report template", "needs an email template", "needs SMTP credentials"],
    "create_activity": ["Create activity needs an active activity type"],
    "schedule_activity": ["Schedule activity needs an active activity type"],
    "esignature": ["needs a report template", "needs a configured external-source action"],
    "export": ["needs an export template", "needs SMTP credentials"],
    "notify_supervisor": [],
    "add_history_entry": ["Add history entry needs an active internal user"],
    "create_task": ["Create task needs an active internal user"],
    "complete_tasks": [],
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_names_its_missing_prerequisites_then_saves_once_they_exist(app, make, kind):
    t = make.flow((2,))
    sub = t.substates[0]
    notes = get_kind(kind).prerequisites(sub)
    assert len(notes) == len(MISSING[kind])
    for note, words in zip(notes, MISSING[kind], strict=True):
        assert words in note.message and note.page.startswith("Settings → ")
    config = _prepare(make, kind, t)
    assert get_kind(kind).prerequisites(sub) == []
    action = svc.save_action(sub, data(kind, config=config))
    db.session.commit()
    assert action.kind == kind and action.config.items() >= {k: v for k, v in config.items()}.items()


def test_assignment_criteria_must_apply_to_the_type_and_be_active(app, make):
    t, other = make.flow((1,)), make.flow((1,))
    kind = get_kind("assign_installer")
    make.assignment_rule("installer", type_id=other.id)
    make.assignment_rule("installer", active=False)
    make.assignment_rule("commercial")
    assert kind.prerequisites(t.substates[0])
    make.assignment_rule("installer", type_id=t.id)
    assert kind.prerequisites(t.substates[0]) == []


def test_esignature_needs_a_provider(app, make):
    t = make.flow((1,))
    app.config["ESIGN_PROVIDER"] = ""
    notes = get_kind("esignature").prerequisites(t.substates[0])
    assert notes[0].message == "Send report for e-signature needs a signature provider."


@pytest.mark.own_app
def test_missing_links_to_the_settings_page_once_it_exists(app, make, monkeypatch):
    from flask_login import login_user

    admin = make.user("admin")
    monkeypatch.setitem(SETTINGS_PAGES, "future", ("settings.future_page", "Settings → Future page"))
    note = Missing("Needs a page not built yet.", "future")
    with app.test_request_context():
        login_user(admin)
        assert note.url is None and note.page == "Settings → Future page"
    app.add_url_rule("/settings/future", endpoint="settings.future_page", view_func=lambda: "")
    with app.test_request_context():
        login_user(admin)
        assert note.url == "/settings/future"
        built = Missing("Assign installer needs assignment criteria.", "assignment_criteria")
        assert built.url == "/settings/assignment-criteria" and built.page == "Settings → Assignment criteria"


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_prerequisite_notes_link_to_the_pages_that_exist(client, make, role):
    """Linked for who may open the settings page (settings.manage); a sales manager is told who sets it up."""
    client.login(make.user(role))
    t = make.flow((1,))
    html = client.htmx("GET", f"/settings/types/{t.id}/substates/{t.substates[0].id}/actions/kind-fields"
                              "?kind=send_email").get_data(as_text=True)
    for endpoint, page in (SETTINGS_PAGES["email_templates"], SETTINGS_PAGES["smtp_credentials"]):
        if role == "admin":
            with client.application.test_request_context():
                assert f'<a href="{url_for(endpoint)}">{page}</a>' in html
        else:
            assert f"An administrator sets it up in {page}." in html and "<a href=\"/settings/" not in html


def test_create_activity_checks_its_placeholders_and_the_type(app, make):
    t = make.flow((1,))
    active, inactive = make.activity_type(), make.activity_type(active=False)
    err = refused(t.substates[0], data("create_activity", config={"activity_type_id": active.id,
                                                                   "description": "Call {{ client.name "}))
    assert err.errors["config-description"].startswith("The placeholders are not valid (line 1)")
    err = refused(t.substates[0], data("create_activity", config={"activity_type_id": active.id,
                                                                   "description": "Ok\n{{ ''.__class__ }}"}))
    assert err.errors["config-description"] == (
        "The placeholders are not valid (line 2): “__class__” is not a placeholder that may be used.")
    err = refused(t.substates[0], data("create_activity", config={"activity_type_id": inactive.id}))
    assert list(err.errors) == ["config-activity_type_id"]


def test_channels_default_to_all_or_must_exist(app, make):
    t = make.flow((2,))
    web, fair = make.channel("Web"), make.channel("Fair")
    cfg = {"substate_id": t.substates[1].id}
    assert refused(t.substates[0], data(config=cfg, channel_ids=[])).errors == {
        "channels": "Choose at least one channel, or all channels."}
    assert list(refused(t.substates[0], data(config=cfg, channel_ids=[web.id, 999999])).errors) == ["channels"]
    action = svc.save_action(t.substates[0], data(config=cfg, channel_ids=[fair.id, web.id, web.id]))
    assert sorted(c.name for c in action.channels) == ["Fair", "Web"]
    action = svc.save_action(t.substates[0], data(config=cfg, channel_ids=None), action)
    assert action.channels == []


def test_a_refused_edit_changes_nothing(app, make):
    t = make.flow((3,))
    a, b, c = t.substates
    action = make.action(a, "open_substate", "on_open", {"substate_id": b.id})
    with pytest.raises(ActionRefused):
        svc.save_action(a, data("open_substate", "scheduled", {"substate_id": c.id}, delay_amount="999",
                                delay_unit="days"), action)
    db.session.rollback()
    action = db.session.get(Action, action.id)
    assert (action.group, action.config, action.delay_amount) == ("on_open", {"substate_id": b.id}, None)


def test_changing_group_moves_the_action_to_the_end_of_the_new_group(app, make):
    t = make.flow((2,))
    a, b = t.substates
    x, y, z = (make.action(a, "open_substate", "on_open", {"substate_id": b.id}) for _ in range(3))
    w = make.action(a, "close_substate", "on_close", {"substate_id": b.id})
    svc.save_action(a, data("open_substate", "on_close", {"substate_id": b.id}), x)
    db.session.commit()
    assert [(o.group, o.position) for o in (x, y, z, w)] == [
        ("on_close", 1), ("on_open", 0), ("on_open", 1), ("on_close", 0)]


def test_duplicate_delete_and_reorder_keep_positions_dense(app, make):
    t = make.flow((2,))
    a, b = t.substates
    ch = make.channel()
    x = svc.save_action(a, data(config={"substate_id": b.id}, channel_ids=[ch.id]))
    y = svc.save_action(a, data("close_substate", config={"substate_id": b.id}))
    db.session.commit()
    copy = svc.duplicate_action(x)
    db.session.commit()
    assert [o.id for o in sorted((x, y, copy), key=lambda o: o.position)] == [x.id, copy.id, y.id]
    assert copy.config == x.config and copy.channels == [ch]
    svc.reorder_group(a, "on_open", [y.id, x.id, copy.id])
    db.session.commit()
    assert (y.position, x.position, copy.position) == (0, 1, 2)
    svc.delete_action(x)
    db.session.commit()
    assert (y.position, copy.position) == (0, 1)
    for stale in ([y.id], [y.id, copy.id, 999], [y.id, y.id]):
        with pytest.raises(ServiceError) as err:
            svc.reorder_group(a, "on_open", stale)
        assert err.value.status == 409
    with pytest.raises(ServiceError):
        svc.reorder_group(a, "whenever", [])


def test_enable_and_disable(app, make):
    t = make.flow((2,))
    action = make.action(t.substates[0], config={"substate_id": t.substates[1].id})
    assert not svc.set_enabled(action, False).enabled
    assert svc.set_enabled(action, True).enabled


def test_copy_to_another_type_maps_substates_by_name_and_validates_there(app, make, mail):
    src, dst = make.flow((2,)), make.flow((3,))
    a, b = src.substates
    opener = make.action(a, "open_substate", "scheduled", {"substate_id": b.id}, delay_amount=2, delay_unit="hours")
    copy = svc.copy_action(opener, dst.substates[2])
    db.session.commit()
    assert copy.substate_id == dst.substates[2].id and copy.config == {"substate_id": dst.substates[1].id}
    assert (copy.group, copy.delay_amount, copy.delay_unit) == ("scheduled", 2, "hours")
    emailer = make.action(a, "send_email", "on_close", dict(mail))
    assert svc.copy_action(emailer, dst.substates[0]).config["email_template_id"] == mail["email_template_id"]
    lonely = make.flow((1,), name="Lonely")
    with pytest.raises(ServiceError, match="no substate named “Substate 1.2”"):
        svc.copy_action(opener, lonely.substates[0])
    with pytest.raises(ServiceError, match="Duplicate"):
        svc.copy_action(opener, a)


def test_copy_is_refused_when_the_copy_would_be_invalid(app, make, mail):
    src, dst = make.flow((1,)), make.flow((1,))
    emailer = make.action(src.substates[0], "send_email", "on_open", {**mail, "email_template_id": 999999})
    with pytest.raises(ServiceError, match="cannot be copied"):
        svc.copy_action(emailer, dst.substates[0])
    db.session.rollback()
    assert not db.session.get(type(dst.substates[0]), dst.substates[0].id).actions


def test_grouped_lists_actions_with_summaries_and_delays(app, make, mail):
    t = make.flow((2,))
    a, b = t.substates
    make.action(a, "send_email", "scheduled", mail, delay_amount=4, delay_unit="days")
    make.action(a, "open_substate", "on_close", {"substate_id": b.id})
    make.action(a, "send_email", "scheduled", {**mail, "email_template_id": 999999}, delay_amount=1,
                delay_unit="minutes", position=1)
    with app.test_request_context():
        groups = svc.grouped(a)
    assert [r.label for r in groups["on_open"]] == []
    assert [r.summary for r in groups["on_close"]] == ["“Substate 1.2”"]
    rows = groups["scheduled"]
    assert [r.delay for r in rows] == ["after 4 days", "after 1 minute"]
    assert rows[0].summary.endswith("→ Client") and rows[1].summary.startswith("(deleted)")
