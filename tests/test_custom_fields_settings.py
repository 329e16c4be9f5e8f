"""Settings → Custom fields (S11): admins create, edit, archive and delete the fields of opportunities; what
opportunities already hold is protected (type, key, chosen options, fields in use), with a message and a 4xx."""

from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import CustomField, FieldValue, ProcessAutomation, SubstateRequirement, Trigger
from services.custom_fields import list_fields

URL = "/settings/custom-fields"


def post_field(client, url=f"{URL}/new", htmx=False, options=(), **data):
    """Post the settings form: `options` as (name, key) pairs or dicts of the row's inputs."""
    body = {"name": "Power", "key": "", "field_type": "text", **data}
    rows = [o if isinstance(o, dict) else {"name": o[0], "key": o[1]} for o in options]
    for column in ("name", "key", "it", "es", "en"):
        body[f"option_{column}"] = [r.get(column, "") for r in rows]
    if htmx:
        return client.htmx("POST", url, data=body)
    return client.post(url, data=body)


def fields() -> list[CustomField]:
    return list(db.session.execute(select(CustomField).order_by(CustomField.id)).scalars())


def make_field(key="power", field_type="number", **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n=kw.pop("name_i18n", {}),
                        field_type=field_type, options=kw.pop("options", []), **kw)
    db.session.add(field)
    db.session.commit()
    return field


def give_value(field, opp, **value) -> None:
    db.session.add(FieldValue(opportunity_id=opp.id, field_id=field.id, **value))
    db.session.commit()


def test_admin_creates_a_choice_field_for_one_type_with_translations(client, make):
    client.login(make.user("admin", language="it"))
    flow, other = make.flow((1,), name="Solar"), make.flow((1,), name="Heat pump")
    response = post_field(client, name="Roof type", name_it="Tipo di tetto", name_es="Tipo de tejado",
                          field_type="choice", type_ids=[str(flow.id)], required="y",
                          options=[{"name": "Flat", "it": "Piano", "es": "Plano"}, ("Pitched", "pitched")])
    assert response.status_code == 302
    (field,) = fields()
    assert (field.name, field.key, field.field_type, field.required) == ("Roof type", "roof_type", "choice", True)
    assert field.name_i18n == {"it": "Tipo di tetto", "es": "Tipo de tejado"}
    assert field.options == [{"key": "flat", "name": "Flat", "name_i18n": {"it": "Piano", "es": "Plano"}},
                             {"key": "pitched", "name": "Pitched", "name_i18n": {}}]
    assert [t.id for t in field.types] == [flow.id] and field.applies_to(flow.id) and not field.applies_to(other.id)
    listing = client.get(URL).get_data(as_text=True)
    assert "Tipo di tetto" in listing and "roof_type" in listing and "Solar" in listing


def test_the_key_is_made_from_the_name_when_left_empty(client, admin):
    assert post_field(client, name="Potenza kWp (è)", field_type="number").status_code == 302
    assert post_field(client, name="2nd visit", field_type="date").status_code == 302
    assert [f.key for f in fields()] == ["potenza_kwp_e", "f_2nd_visit"]


@pytest.mark.parametrize("key", ["Power", "power kw", "9power", "potènza", "x" * 61, "a|b"])
def test_a_bad_key_is_refused_and_nothing_saved(client, admin, key):
    response = post_field(client, key=key)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and ("lowercase letters" in body or "At most 60" in body)
    assert fields() == []


def test_duplicate_key_and_duplicate_name_are_refused(client, admin):
    make_field("power", name="Power")
    response = post_field(client, name="Another", key="power")
    assert response.status_code == 422
    assert _("Another custom field already has the key “%(key)s”.", key="power") in response.get_data(as_text=True)
    response = post_field(client, name="POWER", key="power2")
    assert response.status_code == 422
    assert _("Another custom field already has this name.") in response.get_data(as_text=True)
    assert len(fields()) == 1


@pytest.mark.parametrize(("options", "message"), [
    ([], "A choice needs at least one option."),
    ([("", "flat")], "Give every option a name."),
    ([("Flat", "same"), ("Pitched", "same")], "Two options have the key"),
    ([("Flat", "Flat Roof")], "lowercase letters"),
])
def test_a_choice_needs_well_formed_options(client, admin, options, message):
    for field_type in ("choice", "multi_choice"):
        response = post_field(client, field_type=field_type, options=options)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert fields() == []


def test_options_are_ignored_for_other_types_and_unknown_types_refused(client, admin, make):
    assert post_field(client, field_type="text", options=[("Flat", "flat")]).status_code == 302
    assert fields()[0].options == []
    assert post_field(client, name="B", field_type="colour").status_code == 422
    response = post_field(client, name="C", type_ids=["999999"])
    assert response.status_code == 422
    assert _("Choose opportunity types from the list.") in response.get_data(as_text=True)
    assert len(fields()) == 1


def test_add_an_option_row_saves_nothing_and_keeps_what_was_typed(client, admin):
    body = {"name": "Roof", "field_type": "choice", "add_option": "1",
            "option_name": ["Flat", "", "", ""], "option_key": ["flat", "", "", ""],
            "option_it": ["Piano", "", "", ""], "option_es": ["", "", "", ""], "option_en": ["", "", "", ""]}
    page = client.post(f"{URL}/new", data=body).get_data(as_text=True)
    assert fields() == [] and 'value="Piano"' in page
    assert page.count('name="option_name"') == 5  # the filled row, the three blank ones and one more


def test_htmx_form_comes_back_alone_with_422_and_saves_with_a_redirect(client, admin):
    refused = post_field(client, htmx=True, key="Bad Key")
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "<html" not in body and 'id="custom-field-form"' in body
    saved = post_field(client, htmx=True, key="good_key")
    assert saved.status_code == 204 and saved.headers["HX-Redirect"].endswith(URL)
    assert [f.key for f in fields()] == ["good_key"]


def test_edit_renames_and_changes_options_types_and_required(client, admin, make):
    flow = make.flow((1,))
    field = make_field("roof", "choice", options=[{"key": "flat", "name": "Flat", "name_i18n": {}}])
    page = client.get(f"{URL}/{field.id}").get_data(as_text=True)
    assert 'value="roof"' in page and 'value="Flat"' in page
    response = post_field(client, url=f"{URL}/{field.id}", name="Roof shape", key="roof_shape", field_type="multi_choice",
                          type_ids=[str(flow.id)], required="y", options=[("Flat", "flat"), ("Gable", "")])
    assert response.status_code == 302
    db.session.refresh(field)
    assert (field.name, field.key, field.field_type, field.required) == ("Roof shape", "roof_shape", "multi_choice", True)
    assert [o["key"] for o in field.options] == ["flat", "gable"] and [t.id for t in field.types] == [flow.id]


def test_type_and_key_stay_once_an_opportunity_has_a_value(client, admin, make):
    field = make_field("power", "number")
    give_value(field, make.opportunity(), number=Decimal("5"))
    for change in ({"field_type": "text", "key": "power"}, {"field_type": "number", "key": "kw"}):
        response = post_field(client, url=f"{URL}/{field.id}", name="Power", **change)
        assert response.status_code == 422
        assert "1 opportunity has a value for this field" in response.get_data(as_text=True)
    db.session.refresh(field)
    assert (field.key, field.field_type) == ("power", "number")
    assert post_field(client, url=f"{URL}/{field.id}", name="Power (kW)", key="power",
                      field_type="number").status_code == 302


@pytest.mark.parametrize(("field_type", "stored"), [("choice", "flat"), ("multi_choice", "|gable|flat|")])
def test_an_option_chosen_on_an_opportunity_cannot_be_removed(client, admin, make, field_type, stored):
    options = [{"key": k, "name": k.title(), "name_i18n": {}} for k in ("flat", "gable", "hip")]
    field = make_field("roof", field_type, options=options)
    give_value(field, make.opportunity(), text=stored)
    response = post_field(client, url=f"{URL}/{field.id}", name="Roof", key="roof", field_type=field_type,
                          options=[("Gable", "gable"), ("Hip", "hip")])
    assert response.status_code == 422
    assert "The option “Flat” is chosen on 1 opportunity and cannot be removed." in response.get_data(as_text=True)
    db.session.refresh(field)
    assert len(field.options) == 3
    # An option nobody chose goes.
    response = post_field(client, url=f"{URL}/{field.id}", name="Roof", key="roof", field_type=field_type,
                          options=[("Flat", "flat"), ("Gable", "gable")])
    assert response.status_code == 302
    db.session.refresh(field)
    assert [o["key"] for o in field.options] == ["flat", "gable"]


def test_archive_and_restore_answer_htmx_with_the_row(client, admin):
    field = make_field()
    row = client.htmx("POST", f"{URL}/{field.id}/archive").get_data(as_text=True)
    assert f'id="custom-field-{field.id}"' in row and f"{URL}/{field.id}/unarchive" in row
    db.session.refresh(field)
    assert field.archived
    assert client.post(f"{URL}/{field.id}/unarchive").status_code == 302
    db.session.refresh(field)
    assert not field.archived


def test_an_unused_field_is_deleted(client, admin):
    field = make_field()
    assert client.post(f"{URL}/{field.id}/delete").status_code == 302
    assert fields() == []


def _use(kind, field, make):
    flow = make.flow((1,))
    sub = flow.substates[0]
    if kind == "value":
        give_value(field, make.opportunity(flow), number=Decimal("1"))
        return "1 opportunity has a value for it."
    if kind == "automation":
        db.session.add(ProcessAutomation(name="Power closes survey", custom_field_id=field.id, type_id=flow.id,
                                         substate_id=sub.id, active=False))
        db.session.commit()
        return "The process automation “Power closes survey” uses it."
    if kind == "requirement":
        db.session.add(SubstateRequirement(substate_id=sub.id, custom_field_id=field.id))
        db.session.commit()
        return f"The substate “{sub.name}” requires it."
    db.session.add(Trigger(substate_id=sub.id, kind="field", name="Power given", config={"field": f"custom:{field.id}"}))
    db.session.commit()
    return "The trigger “Power given” waits for it."


@pytest.mark.parametrize("kind", ["value", "automation", "requirement", "trigger"])
def test_a_field_in_use_is_not_deleted_and_the_reason_is_given(client, admin, make, kind):
    field = make_field()
    reason = _use(kind, field, make)
    response = client.post(f"{URL}/{field.id}/delete")
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert reason.replace("“", "&#34;") in body or reason in body
    assert "Archive it instead." in body
    assert len(fields()) == 1


def test_a_trigger_on_another_field_does_not_block_the_delete(client, admin, make):
    field, other = make_field(), make_field("other")
    sub = make.flow((1,)).substates[0]
    db.session.add(Trigger(substate_id=sub.id, kind="field", name="Other", config={"field": f"custom:{other.id}"}))
    db.session.commit()
    assert client.post(f"{URL}/{field.id}/delete").status_code == 302
    assert [f.key for f in fields()] == ["other"]


def test_the_pages_speak_the_admins_language(client, make):
    client.login(make.user("admin", language="es"))
    make_field("roof", "choice", options=[{"key": "flat", "name": "Flat", "name_i18n": {}}])
    response = post_field(client, name="Nuevo", key="Mal")
    assert response.status_code == 422
    with force_locale("es"):
        assert _("A key has lowercase letters without accents, digits and “_”, and starts with a letter.") \
            in response.get_data(as_text=True)
        assert _("Custom fields") in client.get(URL).get_data(as_text=True)


@pytest.mark.parametrize(("role", "status"), [("manager", 403), ("agent", 403), ("partner", 404)])
def test_only_admins_reach_custom_field_settings(client, make, role, status):
    field = make_field()
    user = make.partner() if role == "partner" else make.user(role)
    client.login(user)
    for method, url in [("GET", URL), ("GET", f"{URL}/new"), ("POST", f"{URL}/new"), ("GET", f"{URL}/{field.id}"),
                        ("POST", f"{URL}/{field.id}"), ("POST", f"{URL}/{field.id}/archive"),
                        ("POST", f"{URL}/{field.id}/unarchive"), ("POST", f"{URL}/{field.id}/delete")]:
        assert client.open(url, method=method, data={"name": "X", "field_type": "text"}).status_code == status
    db.session.refresh(field)
    assert (field.name, field.archived) == ("Power", False)
    assert db.session.scalar(select(func.count()).select_from(CustomField)) == 1
    assert "/settings/custom-fields" not in client.get("/settings/").get_data(as_text=True)


def test_fields_move_up_and_down_and_the_opportunity_page_follows(client, admin, make):
    first, _second, third = make_field("first", "text"), make_field("second", "text"), make_field("third", "text")
    table = client.htmx("POST", f"{URL}/{third.id}/move", data={"delta": "-1"})
    assert table.status_code == 200 and 'id="custom-fields"' in table.get_data(as_text=True)
    assert client.post(f"{URL}/{first.id}/move", data={"delta": "1"}).status_code == 302
    assert client.post(f"{URL}/{first.id}/move", data={"delta": "1"}).status_code == 302  # already last
    db.session.expire_all()
    assert [f.key for f, _used in list_fields()] == ["third", "second", "first"]
    page = client.get(f"/opportunities/{make.opportunity().id}").get_data(as_text=True)
    assert page.index("Third") < page.index("Second") < page.index("First")
