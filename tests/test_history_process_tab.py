"""Action history → Process automations (T2, T3): the runs of process automations and of linked tasks, made
by the engine itself, with their automation, field, substate, direction, status and reason; the filters and
sorting the other tabs have; partners see the runs of their own opportunities only; the timeline reads them."""

import pytest
from flask_babel import gettext
from markupsafe import escape

from extensions import db
from models import ProcessAutomation
from models.runs import REASONS
from services import field_values as fv
from services.history import process_automations as tab
from services.linked_tasks import add_linked_task
from services.substates import close_substate, open_substate
from services.tasks import change_status

URL = "/account/history/process_automations"


def _automation(name, ref, sub) -> ProcessAutomation:
    row = ProcessAutomation(name=name, system_field=ref.removeprefix("system:"), type_id=sub.state.type_id,
                            substate_id=sub.id, active=True, field_name="", substate_name=sub.name)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def world(make):
    """Two opportunities, one assigned to a partner company; each has its automations fired by the engine:
    a filled field ticks its step, a step closed by hand asks for its field, the last linked task ticks one."""
    flow = make.flow((3,), name="Solar")
    s1, s2, s3 = flow.substates
    own_company = make.company("installer")
    partner = make.user("partner", company=own_company)
    admin = make.user("admin")
    ours = make.opportunity(flow, name="Rossi roof", installer=own_company)
    theirs = make.opportunity(flow, name="Bianchi barn")
    for opp in (ours, theirs):
        for sub in flow.substates:
            open_substate(opp, sub.id, None)
    db.session.commit()
    _automation("Company known", "system:company_name", s1)
    _automation("Contact known", "system:contact_person", s2)
    fv.set_value(ours, "system:company_name", "Rossi Srl", admin)
    fv.set_value(theirs, "system:company_name", "Bianchi Spa", admin)
    db.session.commit()
    close_substate(theirs, s2.id, admin, values={"system:contact_person": "Anna Bianchi"})
    task = add_linked_task(ours, s3.id, admin, "Send the offer", responsible_id=admin.id)
    db.session.commit()
    change_status(task, "completed", admin)
    db.session.commit()
    return {"flow": flow, "admin": admin, "partner": partner, "ours": ours, "theirs": theirs}


def _rows(client, **args) -> str:
    response = client.get(URL, query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_tab_lists_every_automation_run_with_its_details(client, world):
    client.login(world["admin"])
    page = _rows(client)
    assert escape(gettext("Process automations")) in page
    s1, s2, s3 = world["flow"].substates
    for text in ("Rossi roof", "Bianchi barn", "Company known", "Contact known", "Rossi Srl", "Anna Bianchi",
                 s1.name, s2.name, s3.name, gettext("Company name"), gettext("Contact person")):
        assert escape(text) in page, text
    for key in ("field_closes", "close_requires_field", "linked_tasks"):
        assert escape(str(tab.DIRECTIONS[key][0])) in page
    assert escape(str(REASONS["field_at_close"])) in page
    assert page.count('<tr id="run-') == 4


def test_filters_and_sorting_work_as_on_the_other_tabs(client, world):
    client.login(world["admin"])
    linked = _rows(client, direction="linked_tasks")
    assert linked.count('<tr id="run-') == 1 and "Send the offer" not in linked and "Rossi roof" in linked
    by_hand = _rows(client, direction="close_requires_field")
    assert by_hand.count('<tr id="run-') == 1 and "Anna Bianchi" in by_hand
    assert _rows(client, automation="contact").count('<tr id="run-') == 1
    assert _rows(client, field="system:company_name").count('<tr id="run-') == 2
    assert _rows(client, reason="field_at_close").count('<tr id="run-') == 1
    assert _rows(client, opportunity="rossi").count('<tr id="run-') == 2
    assert _rows(client, status="failed").count('<tr id="run-') == 0
    ascending = _rows(client, sort="opportunity", dir="asc")
    assert ascending.index("Bianchi barn") < ascending.index("Rossi roof")
    descending = _rows(client, sort="opportunity", dir="desc")
    assert descending.index("Rossi roof") < descending.index("Bianchi barn")
    for key in ("automation", "field", "substate", "direction", "reason", "when", "status"):
        assert client.get(URL, query_string={"sort": key}).status_code == 200
    # The field filter offers the fields by their names.
    assert f'value="system:company_name" >{escape(gettext("Company name"))}</option>' in _rows(client)


def test_a_partner_sees_the_runs_of_their_own_opportunities_only(client, world):
    client.login(world["partner"])
    page = _rows(client)
    assert "Rossi roof" in page and page.count('<tr id="run-') == 2
    assert "Bianchi barn" not in page and "Anna Bianchi" not in page and "Bianchi Spa" not in page
    for args in ({"opportunity": "bianchi"}, {"direction": "close_requires_field"}, {"sort": "field"}, {"page": "2"}):
        assert "Bianchi" not in _rows(client, **args)
    assert "Anna Bianchi" not in _rows(client)  # nor in the field filter's options


def test_the_timeline_says_which_automation_ran_and_how(client, world):
    client.login(world["admin"])
    page = client.get(f"/opportunities/{world['theirs'].id}").get_data(as_text=True)
    assert escape("“Contact known”") in page
    assert escape(str(tab.DIRECTIONS["close_requires_field"][0])) in page
    assert escape(f"{gettext('Contact person')}: Anna Bianchi") in page
