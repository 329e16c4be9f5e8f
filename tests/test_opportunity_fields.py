"""The Fields panel of the opportunity page (S11, seed 003): system and custom fields shown in the user's
language and edited inline, refused input answered 422 at its input with nothing saved, partners kept to
their own opportunities, and a field tied to a process automation closing its substate from the page."""

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import CustomField, FieldValue, ProcessAutomation
from services.substates import open_substate
from tests.engine_support import status_of


def custom(key="power", field_type="amount", types=(), **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n=kw.pop("name_i18n", {}),
                        field_type=field_type, options=kw.pop("options", []), types=list(types), **kw)
    db.session.add(field)
    db.session.commit()
    return field


def stored(field) -> FieldValue | None:
    db.session.expire_all()
    return db.session.execute(select(FieldValue).where(FieldValue.field_id == field.id)).scalar_one_or_none()


def save(client, opp, ref, value, htmx=True):
    url = f"/opportunities/{opp.id}/fields/{ref}"
    if htmx:
        return client.htmx("POST", url, data={"value": value})
    return client.post(url, data={"value": value})


@pytest.fixture
def opp(make):
    return make.opportunity(make.flow((2,)), name="Rossi roof")


def login_as(client, make, role="manager", language="en", company=None):
    user = make.user(role, language=language, company=company)
    client.login(user)
    return user


@pytest.mark.parametrize(("lang", "typed", "shown"), [("it", "9800,50", "9.800,50"), ("es", "9800,50", "9.800,50"),
                                                      ("en", "9,800.50", "9,800.50")])
def test_an_amount_typed_in_the_users_language_is_stored_exactly_and_shown_back(client, make, opp, lang, typed,
                                                                                 shown):
    login_as(client, make, language=lang)
    field = custom()
    response = save(client, opp, f"custom:{field.id}", typed)
    assert response.status_code == 200
    assert stored(field).number == Decimal("9800.50")
    assert shown in response.get_data(as_text=True)
    assert shown in client.get(f"/opportunities/{opp.id}").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_every_type_is_saved_from_its_input_and_shown_in_the_users_language(client, make, opp, lang):
    login_as(client, make, language=lang)
    options = [{"key": "flat", "name": "Flat", "name_i18n": {"it": "Piano", "es": "Plano"}},
               {"key": "gable", "name": "Gable", "name_i18n": {"it": "A capanna", "es": "A dos aguas"}}]
    cases = [
        (custom("note", "text"), "Ring twice", "Ring twice"),
        (custom("story", "long_text"), "Line one\nLine two", "Line one\nLine two"),
        (custom("panels", "number"), {"it": "12,5", "es": "12,5", "en": "12.5"}[lang], None),
        (custom("survey", "date"), {"it": "03/02/2026", "es": "03/02/2026", "en": "02/03/2026"}[lang], None),
        (custom("roof", "choice", options=options), "gable", {"it": "A capanna", "es": "A dos aguas", "en": "Gable"}[lang]),
        (custom("roofs", "multi_choice", options=options), ["flat", "gable"], None),
        (custom("battery", "yes_no"), "yes", None),
    ]
    for field, typed, shown in cases:
        response = save(client, opp, f"custom:{field.id}", typed)
        assert response.status_code == 200, (field.field_type, response.get_data(as_text=True)[:300])
        if shown:
            assert shown in response.get_data(as_text=True)
    db.session.expire_all()
    values = {v.field.key: v for v in db.session.execute(select(FieldValue)).scalars()}
    assert values["note"].text == "Ring twice" and values["story"].long_text == "Line one\nLine two"
    assert values["panels"].number == Decimal("12.5") and values["survey"].day == date(2026, 2, 3)
    assert values["roof"].text == "gable" and values["roofs"].text == "|flat|gable|" and values["battery"].flag is True
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    with force_locale(lang):
        assert _("Yes") in page
    assert {"it": "12,5", "es": "12,5", "en": "12.5"}[lang] in page
    assert {"it": "Piano, A capanna", "es": "Plano, A dos aguas", "en": "Flat, Gable"}[lang] in page


def test_system_fields_are_shown_and_saved(client, make, opp):
    login_as(client, make)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    for label in ("Company name", "Contact person", "Acquisition source"):
        assert label in page
    response = save(client, opp, "system:contact_person", "  Mario Rossi ")
    assert response.status_code == 200 and "Mario Rossi" in response.get_data(as_text=True)
    db.session.refresh(opp)
    assert opp.contact_person == "Mario Rossi"


@pytest.mark.parametrize("lang", ["it", "es", "en"])
def test_a_refused_value_comes_back_at_its_input_with_422_and_nothing_saved(client, make, opp, lang):
    login_as(client, make, language=lang)
    field = custom("kwp", "number")
    save(client, opp, f"custom:{field.id}", "7")
    response = save(client, opp, f"custom:{field.id}", "12abc")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and 'value="12abc"' in body and 'class="error"' in body
    assert stored(field).number == Decimal("7")
    # Without JavaScript: the page again, 422, the message at the input.
    plain = save(client, opp, f"custom:{field.id}", "12abc", htmx=False)
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert f'id="fv-custom-{field.id}-error"' in plain.get_data(as_text=True)
    assert stored(field).number == Decimal("7")


def test_a_required_field_cannot_be_emptied(client, make, opp):
    login_as(client, make)
    field = custom("kwp", "text", required=True)
    save(client, opp, f"custom:{field.id}", "3 kW")
    response = save(client, opp, f"custom:{field.id}", "")
    assert response.status_code == 422
    assert _("“%(name)s” is required.", name="Kwp") in response.get_data(as_text=True)
    assert stored(field).text == "3 kW"


def test_a_choice_refuses_an_option_not_in_the_list(client, make, opp):
    login_as(client, make)
    field = custom("roof", "choice", options=[{"key": "flat", "name": "Flat", "name_i18n": {}}])
    assert save(client, opp, f"custom:{field.id}", "pitched").status_code == 422
    assert stored(field) is None


def test_the_panel_lists_only_live_fields_of_the_opportunity_type(client, make, opp):
    login_as(client, make)
    other_type = make.flow((1,))
    mine, everyone = custom("mine", "text", types=[opp.type]), custom("everyone", "text")
    theirs = custom("theirs", "text", types=[other_type])
    gone = custom("gone", "text", archived=True)
    page = client.get(f"/opportunities/{opp.id}").get_data(as_text=True)
    assert "Mine" in page and "Everyone" in page and "Theirs" not in page and "Gone" not in page
    for field in (theirs, gone):
        assert save(client, opp, f"custom:{field.id}", "x").status_code == 404
        assert stored(field) is None
    assert save(client, opp, f"custom:{mine.id}", "x").status_code == 200
    assert save(client, opp, "system:nothing", "x").status_code == 404
    assert save(client, opp, f"custom:{everyone.id}", "y").status_code == 200


def test_edit_opens_the_fields_input_with_htmx_and_without(client, make, opp):
    login_as(client, make)
    field = custom("kwp", "number")
    ref = f"custom:{field.id}"
    fragment = client.htmx("GET", f"/opportunities/{opp.id}/fields?edit={ref}")
    assert fragment.status_code == 200 and f'id="fv-custom-{field.id}"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    page = client.get(f"/opportunities/{opp.id}?edit_field={ref}").get_data(as_text=True)
    assert f'action="/opportunities/{opp.id}/fields/{ref}"' in page
    assert client.htmx("GET", f"/opportunities/{opp.id}/fields?edit=custom:999999").status_code == 404
    # A plain save goes back to the page.
    response = save(client, opp, ref, "3", htmx=False)
    assert response.status_code == 302 and f"/opportunities/{opp.id}" in response.headers["Location"]


def test_filling_a_field_tied_to_a_process_automation_closes_the_substate_from_the_page(client, make, opp):
    login_as(client, make, language="it")
    s1, s2 = opp.type.substates
    for sub in (s1, s2):
        open_substate(opp, sub.id, None)
    field = custom("kwp", "number")
    db.session.add(ProcessAutomation(name="kWp closes survey", custom_field_id=field.id, type_id=opp.type_id,
                                     substate_id=s1.id, active=True))
    db.session.commit()
    response = save(client, opp, f"custom:{field.id}", "6,5")
    assert response.status_code == 200
    assert status_of(opp, s1) == "closed" and status_of(opp, s2) == "open"
    body = response.get_data(as_text=True)
    # The flow panel comes along, swapped in out of band, showing the substate closed.
    assert 'id="flow"' in body and 'hx-swap-oob="true"' in body
    flow_part = body[body.index('id="flow"'):]
    assert f'id="substate-{s1.id}"' in flow_part
    with force_locale("it"):
        closed = _("Closed")
    assert closed in flow_part.split(f'id="substate-{s2.id}"')[0]


def test_a_refused_value_closes_nothing(client, make, opp):
    login_as(client, make)
    s1 = opp.type.substates[0]
    open_substate(opp, s1.id, None)
    db.session.add(ProcessAutomation(name="Contact closes", system_field="contact_person", type_id=opp.type_id,
                                     substate_id=s1.id, active=True))
    db.session.commit()
    assert save(client, opp, "system:contact_person", "x" * 161).status_code == 422
    assert status_of(opp, s1) == "open"


def test_a_partner_reads_the_fields_of_its_own_opportunity_only_and_edits_none(client, make):
    company = make.company("installer")
    own = make.opportunity(make.flow((1,)), installer=company, contact_person="Mario Rossi")
    other = make.opportunity(make.flow((1,)), contact_person="Secret Person")
    field = custom("kwp", "text")
    client.login(make.user("partner", company=company))
    page = client.get(f"/opportunities/{own.id}").get_data(as_text=True)
    assert "Mario Rossi" in page and f"/opportunities/{own.id}/fields/" not in page
    assert save(client, own, "system:contact_person", "Changed").status_code == 403
    assert client.htmx("GET", f"/opportunities/{own.id}/fields?edit=system:contact_person").status_code == 403
    for method, url in [("GET", f"/opportunities/{other.id}/fields"),
                        ("POST", f"/opportunities/{other.id}/fields/system:contact_person"),
                        ("POST", f"/opportunities/{other.id}/fields/custom:{field.id}")]:
        response = client.open(url, method=method, data={"value": "Changed"}, headers={"HX-Request": "true"})
        assert response.status_code == 404
        assert "Secret Person" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert (own.contact_person, other.contact_person) == ("Mario Rossi", "Secret Person")
    assert stored(field) is None




def _form(make, opp_type, **extra) -> dict:
    return {"name": "Bianchi roof", "type_id": opp_type.id, "channel_id": make.channel().id,
            "customer_id": make.customer().id, "owner_id": 0, "amount": "", **extra}


def test_the_opportunity_form_sets_the_system_fields_and_announces_them(client, make):
    """Filled on the create form, the contact person closes the substate its automation ties it to, once
    that substate is open; emptied on the edit form, it is emptied (and closes nothing)."""
    login_as(client, make)
    flow = make.flow((1,))
    sub = flow.substates[0]
    db.session.add(ProcessAutomation(name="Contact closes", system_field="contact_person", type_id=flow.id,
                                     substate_id=sub.id, active=True))
    db.session.commit()
    response = client.post("/opportunities/new", data=_form(make, flow, company_name=" Bianchi Srl ",
                                                            acquisition_source="Fair"))
    assert response.status_code == 302
    from models import Opportunity

    opp = db.session.execute(select(Opportunity)).scalar_one()
    assert (opp.company_name, opp.contact_person, opp.acquisition_source) == ("Bianchi Srl", None, "Fair")
    open_substate(opp, sub.id, None)
    db.session.commit()
    edit = client.get(f"/opportunities/{opp.id}/edit").get_data(as_text=True)
    assert 'value="Bianchi Srl"' in edit and 'name="contact_person"' in edit
    data = _form(make, flow, company_name="Bianchi Srl", contact_person="Anna Bianchi", acquisition_source="Fair")
    assert client.post(f"/opportunities/{opp.id}/edit", data=data).status_code == 302
    db.session.refresh(opp)
    assert opp.contact_person == "Anna Bianchi"
    assert status_of(opp, sub) == "closed"  # announced: the automation closed the substate
    data["company_name"] = ""
    assert client.post(f"/opportunities/{opp.id}/edit", data=data).status_code == 302
    db.session.refresh(opp)
    assert opp.company_name is None


def test_the_opportunity_form_refuses_a_too_long_system_field_and_saves_nothing(client, make, opp):
    login_as(client, make)
    data = _form(make, opp.type, name="Renamed", contact_person="x" * 161)
    response = client.post(f"/opportunities/{opp.id}/edit", data=data)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    db.session.refresh(opp)
    assert (opp.name, opp.contact_person) == ("Rossi roof", None)


@pytest.mark.parametrize("ref", ["custom:99999999999999999999999", "custom:-1", "custom:", "custom:１２", "system:", "x"])
def test_a_reference_naming_no_field_is_404_never_a_500(client, make, opp, ref):
    login_as(client, make)
    assert client.post(f"/opportunities/{opp.id}/fields/{ref}", data={"value": "1"}).status_code == 404
    assert client.htmx("GET", f"/opportunities/{opp.id}/fields?edit={ref}").status_code == 404
    assert client.get(f"/opportunities/{opp.id}?edit_field={ref}").status_code == 200
