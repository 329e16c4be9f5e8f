"""Closing a substate on the opportunity page when it requires fields or a note (D4, T2): the flow panel
comes back (422) with an inline form asking for what is missing, nothing closes until it is given, then the
substate closes with the values saved and the note on the timeline; with htmx and without JavaScript."""

import re
from decimal import Decimal
from html import unescape

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import CustomField, FieldValue, HistoryEntry, ProcessAutomation, SubstateRequirement
from services import field_values as fv
from services.locale_input import InputRefused
from services.substates import open_substate
from tests.engine_support import status_of


def custom(key="kw", field_type="number", **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n={}, field_type=field_type,
                        options=kw.pop("options", []), **kw)
    db.session.add(field)
    db.session.commit()
    return field


@pytest.fixture
def setup(make):
    flow = make.flow((2,))
    opp = make.opportunity(flow)
    for sub in flow.substates:
        open_substate(opp, sub.id, None)
    db.session.commit()
    return flow, opp


def close_url(opp, sub) -> str:
    return f"/opportunities/{opp.id}/substates/{sub.id}/close"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_a_missing_field_is_asked_for_inline_and_the_close_waits_for_it(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    power = custom("power", name="Power (kW)")
    db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=power.id))
    db.session.commit()
    client.login(make.user("manager"))
    page = text(client.get(f"/opportunities/{opp.id}"))
    assert "“Power (kW)”" in page  # the hint before Close is pressed
    refused = client.htmx("POST", close_url(opp, sub))
    body = text(refused)
    assert refused.status_code == 422 and "<html" not in body and 'id="flow"' in body
    assert f'name="field-custom:{power.id}"' in body and 'aria-invalid="true"' in body
    assert _("To close “%(name)s”, fill in %(fields)s.", name=sub.label, fields="“Power (kW)”") in body
    assert status_of(opp, sub) == "open"
    done = client.htmx("POST", close_url(opp, sub), data={f"field-custom:{power.id}": "6.5"})
    assert done.status_code == 200 and f'name="field-custom:{power.id}"' not in text(done)
    assert status_of(opp, sub) == "closed"
    assert db.session.execute(select(FieldValue.number)).scalar_one() == Decimal("6.5")


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_a_refused_value_comes_back_with_its_message_in_the_users_language(client, make, setup, lang):
    flow, opp = setup
    sub = flow.substates[0]
    power = custom("power", name="Power")
    db.session.add(ProcessAutomation(name="Auto", custom_field_id=power.id, type_id=flow.id, substate_id=sub.id,
                                     active=True))
    db.session.commit()
    client.login(make.user("manager", language=lang))
    refused = client.htmx("POST", close_url(opp, sub), data={f"field-custom:{power.id}": "12abc"})
    with force_locale(lang):
        try:
            fv.parse(fv.resolve(f"custom:{power.id}"), "12abc")
        except InputRefused as err:
            expected = err.message
    body = text(refused)
    assert refused.status_code == 422 and expected in body
    assert 'value="12abc"' in body  # what was typed comes back to be corrected
    assert status_of(opp, sub) == "open" and db.session.execute(select(FieldValue)).first() is None


def test_a_note_is_asked_for_and_goes_to_the_timeline(client, make, setup):
    flow, opp = setup
    sub = flow.substates[1]
    sub.requires_note = True
    db.session.commit()
    client.login(make.user("manager"))
    assert _("a note") in text(client.get(f"/opportunities/{opp.id}"))
    refused = client.htmx("POST", close_url(opp, sub), data={"note": "   "})
    body = text(refused)
    assert refused.status_code == 422 and 'name="note"' in body
    assert _("Write a note to close this substate.") in body
    assert status_of(opp, sub) == "open"
    assert client.htmx("POST", close_url(opp, sub), data={"note": "Client called back"}).status_code == 200
    assert status_of(opp, sub) == "closed"
    (entry,) = db.session.execute(select(HistoryEntry.text)).scalars()
    assert "Client called back" in entry
    assert "Client called back" in text(client.get(f"/opportunities/{opp.id}"))


def test_without_javascript_the_page_asks_then_closes(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    db.session.add(SubstateRequirement(substate_id=sub.id, system_field="contact_person"))
    db.session.commit()
    client.login(make.user("manager"))
    refused = client.post(close_url(opp, sub))
    body = text(refused)
    assert refused.status_code == 422 and "<html" in body
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*class="close-prompt"', body)
    assert form and form.group(1) == close_url(opp, sub)
    assert 'name="field-system:contact_person"' in body
    done = client.post(close_url(opp, sub), data={"field-system:contact_person": "Mario Rossi"})
    assert done.status_code == 302
    assert status_of(opp, sub) == "closed" and db.session.get(type(opp), opp.id).contact_person == "Mario Rossi"


def test_a_filled_field_is_not_asked_for_again(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    db.session.add(SubstateRequirement(substate_id=sub.id, system_field="company_name"))
    opp.company_name = "Rossi Srl"
    db.session.commit()
    client.login(make.user("manager"))
    assert client.htmx("POST", close_url(opp, sub)).status_code == 200
    assert status_of(opp, sub) == "closed"


def test_a_partner_cannot_close_a_substate_of_an_opportunity_not_theirs(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    sub.partner_can_act = True
    db.session.commit()
    client.login(make.partner())
    assert client.htmx("POST", close_url(opp, sub), data={"note": "x"}).status_code == 404
    assert status_of(opp, sub) == "open"


def test_a_multiple_choice_keeps_what_was_ticked(client, make, setup):
    flow, opp = setup
    sub = flow.substates[0]
    sub.requires_note = True
    roof = custom("roof", "multi_choice", name="Roof", options=[{"key": "ab", "name": "Tiles"}, {"key": "a", "name": "Flat"}])
    db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=roof.id))
    db.session.commit()
    client.login(make.user("manager"))
    refused = client.htmx("POST", close_url(opp, sub), data={f"field-custom:{roof.id}": "ab"})
    body = text(refused)
    assert refused.status_code == 422
    assert re.search(r'value="ab" checked', body) and not re.search(r'value="a" checked', body)
    done = client.htmx("POST", close_url(opp, sub), data={f"field-custom:{roof.id}": ["a", "ab"], "note": "ok"})
    assert done.status_code == 200 and status_of(opp, sub) == "closed"
    assert fv.current(opp, fv.resolve(f"custom:{roof.id}")) == ["ab", "a"]
