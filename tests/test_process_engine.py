"""Process automations both ways (T2), required fields and notes (D4), linked tasks (T3) and field triggers
(T1), through the services the pages and the API share: what the engine records and what it closes."""

from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from extensions import db
from models import (
    CustomField,
    FieldValue,
    HistoryEntry,
    ProcessAutomation,
    SubstateRequirement,
    Trigger,
)
from services import ServiceError
from services import field_values as fv
from services.close_requirements import CloseNeedsInput
from services.linked_tasks import add_linked_task
from services.substates import close_substate, open_substate
from services.tasks import change_status
from tests.engine_support import add_action, runs, status_of


def custom(key="kw", field_type="number", **kw) -> CustomField:
    field = CustomField(key=key, name=key.title(), name_i18n={}, field_type=field_type, options=kw.pop("options", []),
                        **kw)
    db.session.add(field)
    db.session.commit()
    return field


def automation(field_ref: str, sub, active=True) -> ProcessAutomation:
    kind, _sep, key = field_ref.partition(":")
    row = ProcessAutomation(name="Auto", custom_field_id=int(key) if kind == "custom" else None,
                            system_field=key if kind == "system" else None, type_id=sub.state.type_id,
                            substate_id=sub.id, active=active)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def setup(make):
    flow = make.flow((3,))
    opp = make.opportunity(flow)
    for sub in flow.substates:
        open_substate(opp, sub.id, None)
    db.session.commit()
    return flow, opp, make.user("admin")


def test_filling_the_field_closes_the_substate_and_queues_its_on_close_actions(setup):
    flow, opp, admin = setup
    s1, s2, _s3 = flow.substates
    add_action(s1, "on_close", "open_substate", substate_id=s2.id)
    field = custom()
    automation(f"custom:{field.id}", s1)
    with force_locale("it"):
        value = fv.set_value(opp, f"custom:{field.id}", "9800,50", admin)
    db.session.commit()
    assert value == Decimal("9800.50")
    assert status_of(opp, s1) == "closed"
    (record,) = [r for r in runs() if r.kind == "process_automation"]
    assert record.status == "succeeded" and record.result["direction"] == "field_closes"
    assert any(r.kind == "open_substate" and r.trigger == "on_close" for r in runs())


def test_clearing_or_changing_a_filled_field_closes_nothing_more(setup):
    flow, opp, admin = setup
    s1 = flow.substates[0]
    automation("system:contact_person", s1)
    fv.set_value(opp, "system:contact_person", "Mario Rossi", admin)
    db.session.commit()
    open_substate(opp, s1.id, admin)
    db.session.commit()
    fv.set_value(opp, "system:contact_person", "Luigi Verdi", admin)
    fv.set_value(opp, "system:contact_person", "", admin)
    db.session.commit()
    assert status_of(opp, s1) == "open"
    assert len([r for r in runs() if r.kind == "process_automation"]) == 1


def test_an_inactive_automation_does_nothing(setup):
    flow, opp, admin = setup
    automation("system:company_name", flow.substates[0], active=False)
    fv.set_value(opp, "system:company_name", "Rossi Srl", admin)
    db.session.commit()
    assert status_of(opp, flow.substates[0]) == "open"


def test_closing_by_hand_requires_the_field_then_saves_it(setup):
    flow, opp, admin = setup
    s1 = flow.substates[0]
    field = custom("kwp")
    automation(f"custom:{field.id}", s1)
    with pytest.raises(CloseNeedsInput) as refused:
        close_substate(opp, s1.id, admin)
    assert refused.value.status == 422 and [f.ref for f in refused.value.missing] == [f"custom:{field.id}"]
    db.session.rollback()
    assert status_of(opp, s1) == "open"
    with force_locale("en"), pytest.raises(CloseNeedsInput) as bad:
        close_substate(opp, s1.id, admin, values={f"custom:{field.id}": "12abc"})
    assert f"custom:{field.id}" in bad.value.errors
    db.session.rollback()
    with force_locale("es"):
        close_substate(opp, s1.id, admin, values={f"custom:{field.id}": "6,5"})
    db.session.commit()
    assert status_of(opp, s1) == "closed"
    assert db.session.execute(select(FieldValue.number)).scalar_one() == Decimal("6.5")
    (record,) = [r for r in runs() if r.kind == "process_automation"]
    assert (record.status, record.reason, record.result["direction"]) == (
        "succeeded", "field_at_close", "close_requires_field")


def test_required_fields_and_note_block_the_close_until_given(setup):
    flow, opp, admin = setup
    s1 = flow.substates[0]
    s1.requires_note = True
    field = custom("survey", "date")
    db.session.add(SubstateRequirement(substate_id=s1.id, custom_field_id=field.id))
    db.session.commit()
    with pytest.raises(CloseNeedsInput) as refused:
        close_substate(opp, s1.id, admin, values={f"custom:{field.id}": "03/02/2026"})
    assert refused.value.note_error and not refused.value.missing
    db.session.rollback()
    with force_locale("it"):
        close_substate(opp, s1.id, admin, values={f"custom:{field.id}": "03/02/2026"}, note="Sopralluogo fatto")
    db.session.commit()
    assert status_of(opp, s1) == "closed"
    assert str(db.session.execute(select(FieldValue.day)).scalar_one()) == "2026-02-03"
    assert "Sopralluogo fatto" in db.session.execute(select(HistoryEntry.text)).scalar_one()


def test_automation_closes_need_no_input(setup):
    flow, opp, _admin = setup
    s1 = flow.substates[0]
    s1.requires_note = True
    db.session.commit()
    close_substate(opp, s1.id, None)
    db.session.commit()
    assert status_of(opp, s1) == "closed"


def test_completing_every_linked_task_closes_the_substate(setup, make):
    flow, opp, admin = setup
    s1, s2, _s3 = flow.substates
    tasks = [add_linked_task(opp, s1.id, admin, f"Task {i}", responsible_id=admin.id) for i in range(3)]
    db.session.commit()
    with pytest.raises(ServiceError) as fourth:
        add_linked_task(opp, s1.id, admin, "Task 4", responsible_id=admin.id)
    assert fourth.value.status == 422
    db.session.rollback()
    for t in tasks[:2]:
        change_status(t, "completed", admin)
    db.session.commit()
    assert status_of(opp, s1) == "open"
    change_status(tasks[2], "completed", admin)
    db.session.commit()
    assert status_of(opp, s1) == "closed"
    assert [r.status for r in runs() if r.kind == "linked_tasks"] == ["succeeded"]
    # A substate that asks for a note is left for a person, with the reason recorded.
    s2.requires_note = True
    only = add_linked_task(opp, s2.id, admin, "Only", responsible_id=admin.id)
    db.session.commit()
    change_status(only, "completed", admin)
    db.session.commit()
    assert status_of(opp, s2) == "open"
    assert [r.reason for r in runs() if r.kind == "linked_tasks"][-1] == "needs_note"


def test_field_trigger_opens_its_substate(make, setup):
    flow, opp, admin = setup
    s1, s2, s3 = flow.substates
    close_substate(opp, s3.id, None)
    db.session.commit()
    db.session.add(Trigger(substate_id=s3.id, kind="field", name="Source → S3",
                           config={"field": "system:acquisition_source", "when": "filled"}, allow_back=True))
    db.session.commit()
    fv.set_value(opp, "system:acquisition_source", "Website", admin)
    db.session.commit()
    assert status_of(opp, s3) == "open"
    assert [r.status for r in runs() if r.kind == "trigger_field"] == ["succeeded"]


@pytest.mark.parametrize("field_type,raw,expected", [
    ("amount", "9.800,50", Decimal("9800.50")),
    ("date", "31/12/2026", "2026-12-31"),
    ("yes_no", "yes", True),
    ("choice", "b", "b"),
    ("multi_choice", ["b", "a"], ["a", "b"]),
    ("text", "  Rossi  ", "Rossi"),
])
def test_each_type_reads_what_italians_type(setup, field_type, raw, expected):
    _flow, opp, admin = setup
    field = custom("f", field_type, options=[{"key": "a", "name": "A"}, {"key": "b", "name": "B"}])
    with force_locale("it"):
        fv.set_value(opp, f"custom:{field.id}", raw, admin)
    db.session.commit()
    got = fv.current(opp, fv.resolve(f"custom:{field.id}"))
    assert (str(got) if field_type == "date" else got) == expected


@pytest.mark.parametrize("field_type,raw", [
    ("amount", "9800,505"), ("number", "1e5"), ("date", "2026-13-40"), ("choice", "zzz"), ("yes_no", "maybe"),
    ("text", "x" * 2001),
])
def test_each_type_refuses_bad_input_with_a_reason(setup, field_type, raw):
    _flow, opp, admin = setup
    field = custom("g", field_type, options=[{"key": "a", "name": "A"}])
    for lang in ("it", "es", "en"):
        with force_locale(lang), pytest.raises(ServiceError) as refused:
            fv.set_value(opp, f"custom:{field.id}", raw, admin)
        assert refused.value.status == 422 and refused.value.message
    db.session.rollback()
    assert db.session.execute(select(FieldValue)).first() is None
