"""Custom fields and the system fields as placeholders (S11, SPEC §2 "Placeholders"): filled in the
recipient's language, empty when missing (never an error), listed for template authors, sandbox intact."""

import pytest
from flask_babel import force_locale

from engine import render
from engine.recipients import Recipient
from extensions import db
from models import CustomField, EmailTemplate
from services import field_values as fv

REGIONS = [{"key": "north", "name": "North", "name_i18n": {"it": "Nord", "es": "Norte"}}]
BODY = ("<p>{{ opportunity.fields.region }}|{{ opportunity.fields.budget }}|{{ opportunity.fields.survey }}|"
        "{{ opportunity.fields.roof_ok }}|{{ opportunity.company_name }}|{{ opportunity.contact_person }}|"
        "{{ opportunity.acquisition_source }}</p>")


def custom(key: str, field_type: str, **kw) -> CustomField:
    field = CustomField(key=key, name=kw.pop("name", key.title()), name_i18n={}, field_type=field_type,
                        options=kw.pop("options", []), **kw)
    db.session.add(field)
    db.session.commit()
    return field


@pytest.fixture
def filled(make):
    opp = make.opportunity()
    values = {"region": ("choice", "north"), "budget": ("amount", "9800.50"), "survey": ("date", "2026-03-05"),
              "roof_ok": ("yes_no", "yes")}
    with force_locale("en"):
        for key, (field_type, raw) in values.items():
            field = custom(key, field_type, options=REGIONS if field_type == "choice" else [])
            fv.set_value(opp, f"custom:{field.id}", raw, None)
        for key, raw in (("company_name", "Rossi Srl"), ("contact_person", "Mario Rossi"),
                         ("acquisition_source", "Fiera")):
            fv.set_value(opp, f"system:{key}", raw, None)
    db.session.commit()
    return opp


@pytest.mark.parametrize(("lang", "expected"), [
    ("it", "Nord|9.800,50|05/03/2026|Sì|Rossi Srl|Mario Rossi|Fiera"),
    ("es", "Norte|9.800,50|05/03/2026|Sí|Rossi Srl|Mario Rossi|Fiera"),
    ("en", "North|9,800.50|03/05/2026|Yes|Rossi Srl|Mario Rossi|Fiera"),
])
def test_an_email_shows_the_values_in_the_recipients_language(app, filled, lang, expected):
    template = EmailTemplate(name="Fields", subjects={lang: "{{ opportunity.fields.region }}"}, bodies={lang: BODY})
    with app.test_request_context():
        letter = render.compose(template, filled, Recipient("client", "c@example.net", "Client", lang))
    assert letter.subject == expected.split("|")[0]
    assert f"<p>{expected}</p>" in letter.html


def test_a_missing_key_or_an_empty_field_renders_empty(app, make, filled):
    custom("empty_one", "text")
    custom("gone", "text", archived=True)
    with app.test_request_context():
        values = render.context(filled)
        source = "[{{ opportunity.fields.nope }}|{{ opportunity.fields.nope.deeper }}|{{ opportunity.fields.empty_one }}" \
                 "|{{ opportunity.fields.gone }}]"
        assert render.render(source, values, html=False) == "[|||]"
        # An opportunity without any value, and a template checked at save with no opportunity at all.
        bare = render.context(make.opportunity())
        assert render.render("[{{ opportunity.fields.region }}{{ opportunity.company_name }}]", bare, False) == "[]"
        assert render.check_source("{{ opportunity.fields.region }} {{ opportunity.fields.x.y }}", html=True) is None


def test_the_sandbox_still_refuses_internals_through_fields(app, filled):
    with app.test_request_context():
        for source in ("{{ opportunity.fields.__class__ }}", "{{ opportunity.fields.region.__class__.__mro__ }}",
                       "{{ opportunity.fields['_x'] }}", "{{ opportunity.fields|attr('__class__') }}"):
            assert render.check_source(source, html=True) is not None, source
        values = render.context(filled)
        # Values are plain text: no model object, nothing to call.
        assert all(isinstance(v, str) for v in values["opportunity"]["fields"].values())
        with pytest.raises(render.RenderError):
            render.render("{{ opportunity.fields.region.__class__ }}", values, html=False)


def test_template_authors_see_the_custom_fields_among_the_placeholders(client, make, filled):
    custom("gone", "text", archived=True)
    client.login(make.user("admin"))
    for url in ("/settings/email-templates/new", "/settings/report-templates/new"):
        body = client.get(url).get_data(as_text=True)
        for code in ("{{ opportunity.fields.region }}", "{{ opportunity.fields.budget }}",
                     "{{ opportunity.company_name }}", "{{ opportunity.contact_person }}",
                     "{{ opportunity.acquisition_source }}"):
            assert f"<code>{code}</code>" in body, (url, code)
        assert "opportunity.fields.gone" not in body
