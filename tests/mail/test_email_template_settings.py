"""Settings → Email templates (SPEC S2): admins only; subject and body per language checked in the
sandbox at save — 422 with the language, line and reason, nothing saved; preview with an opportunity."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import EmailTemplate
from tests.mail import support

ROUTES = [("GET", "/settings/email-templates"), ("GET", "/settings/email-templates/new"),
          ("POST", "/settings/email-templates/new"), ("GET", "/settings/email-templates/{id}"),
          ("POST", "/settings/email-templates/{id}"), ("POST", "/settings/email-templates/{id}/delete"),
          ("POST", "/settings/email-templates/preview")]


def fresh():
    db.session.rollback()
    db.session.expire_all()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(EmailTemplate))


def form(**changes) -> dict:
    data = {"name": "Documentation reminder"}
    for lang in ("it", "es", "en"):
        data[f"subject_{lang}"] = support.SUBJECTS[lang]
        data[f"body_{lang}"] = support.BODIES[lang]
    data.update(changes)
    return data


@pytest.fixture
def admin(client, make):
    user = make.user("admin")
    client.login(user)
    return user


@pytest.fixture
def saved(app):
    return support.template(name="Saved")


def test_admin_opens_the_pages_with_the_placeholders_beside_the_editor(client, admin, saved):
    for method, url in ROUTES:
        if method == "GET":
            assert client.get(url.format(id=saved.id)).status_code == 200
    page = client.get(f"/settings/email-templates/{saved.id}").get_data(as_text=True)
    for placeholder in ("{{ opportunity.name }}", "{{ opportunity.amount }}", "{{ client.name }}",
                        "{{ client.email }}", "{{ installer.name }}", "{{ commercial.name }}", "{{ owner.email }}"):
        assert placeholder in page
    assert 'href="/settings/email-templates"' in client.get("/settings/").get_data(as_text=True)


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("manager", 403), ("agent", 403), ("partner", 404)])
def test_others_are_refused_and_nothing_changes(client, make, saved, method, url, role, status):
    client.login(make.partner() if role == "partner" else make.user(role))
    response = client.open(url.format(id=saved.id), method=method, data=form(name="Changed"))
    assert response.status_code == status
    fresh()
    assert [t.name for t in db.session.scalars(select(EmailTemplate))] == ["Saved"]


def test_create_and_edit(client, admin):
    assert client.post("/settings/email-templates/new", data=form(subject_es="", body_es="")).status_code == 302
    fresh()
    template = db.session.scalar(select(EmailTemplate))
    assert set(template.subjects) == {"it", "en"} and template.bodies["it"] == support.BODIES["it"]
    response = client.post(f"/settings/email-templates/{template.id}", data=form(name="Reminder"))
    assert response.status_code == 302
    fresh()
    assert db.session.get(EmailTemplate, template.id).name == "Reminder"
    assert set(db.session.get(EmailTemplate, template.id).bodies) == {"it", "es", "en"}


BAD = [
    ({"body_it": "<p>Ciao {{ client.name </p>"}, "body_it",
     "Body in Italian, line 1: unexpected"),
    ({"subject_es": "Hola {% if %}"}, "subject_es", "Subject in Spanish, line 1: Expected an expression"),
    ({"body_en": "<p>one</p>\n<p>{{ ''.__class__ }}</p>"}, "body_en",
     "Body in English, line 2: “__class__” is not a placeholder that may be used."),
    ({"body_en": "{{ opportunity.name.__globals__ }}"}, "body_en", "“__globals__” is not a placeholder"),
    ({"body_it": "{{ client['__class__'] }}"}, "body_it", "“__class__” is not a placeholder"),
    ({"body_it": "{{ client|attr('__dict__') }}"}, "body_it", "“__dict__” is not a placeholder"),
    ({"body_it": "{{ cycler.__init__.__globals__.os }}"}, "body_it", "“__init__” is not a placeholder"),
    ({"body_it": "{{ x.mro() }}"}, "body_it", "“mro” is not a placeholder"),
    ({"body_es": "{% include 'secrets.html' %}"}, "body_es", "cannot include, import or extend"),
    ({"body_en": "a\nb\n{{ opportunity.name | nosuchfilter }}"}, "body_en", "Body in English, line 3: No filter named"),
    ({"body_en": "{{ opportunity.amount + 1 }}"}, "body_en", "Body in English, line 1: TypeError"),
    ({"subject_it": ""}, "subject_it", "Write both the subject and the body in Italian, or leave both empty."),
    ({"name": ""}, "name", "Enter a name."),
    ({"name": "saved"}, "name", "Another email template already has this name."),
]


@pytest.mark.parametrize("changes,field,message", BAD)
def test_bad_templates_are_refused_at_save_with_language_line_and_reason(client, admin, saved, changes, field,
                                                                         message):
    urls = ["/settings/email-templates/new", f"/settings/email-templates/{saved.id}"]
    for url in urls[:1] if changes.get("name") == "saved" else urls:  # its own name is not "taken"
        response = client.post(url, data=form(**{"name": "Fresh", **changes}))
        assert response.status_code == 422
        body = response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
        assert message in body, body[body.find("error"):][:500]
        fresh()
        assert count() == 1
        assert db.session.get(EmailTemplate, saved.id).name == "Saved"
        assert db.session.get(EmailTemplate, saved.id).bodies == support.BODIES


def test_a_template_needs_at_least_one_language(client, admin):
    empty = {f"{part}_{lang}": "" for part in ("subject", "body") for lang in ("it", "es", "en")}
    response = client.post("/settings/email-templates/new", data=form(**empty))
    assert response.status_code == 422
    assert "Write the subject and the body in at least one language." in response.get_data(as_text=True)
    assert count() == 0


def test_delete_refused_while_an_action_uses_it(client, admin, saved, make):
    make.action(make.flow((1,)).substates[0], "send_email", config={"email_template_id": saved.id})
    response = client.post(f"/settings/email-templates/{saved.id}/delete", follow_redirects=True)
    assert "1 automatic action uses this template: change it first." in response.get_data(as_text=True)
    fresh()
    assert count() == 1


def test_preview_renders_the_editor_text_for_an_opportunity_in_the_chosen_language(client, admin, make):
    owner = make.user("manager", name="Lucía Gómez", language="es")
    customer = make.customer(name="Mario <Rossi>", email="mario@example.it", language="it")
    opp = make.opportunity(name="Impianto Rossi", customer=customer, owner=owner, amount=1234.5)
    data = form(preview_opportunity=str(opp.id), preview_language="it")
    response = client.htmx("POST", "/settings/email-templates/preview", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="email-preview"' in body and "<html" not in body.split("srcdoc")[0]
    assert "Documentazione in sospeso: Impianto Rossi" in body
    assert "1.234,50" in body  # Italian number format
    assert "Mario &amp;lt;Rossi&amp;gt;" in body  # escaped by the template, then again into srcdoc
    assert 'sandbox=""' in body and "Gentile Mario &lt;Rossi&gt;," in body  # the plain-text part
    es = client.htmx("POST", "/settings/email-templates/preview", data={**data, "preview_language": "es"})
    assert "Documentación pendiente: Impianto Rossi" in es.get_data(as_text=True)
    only_en = form(preview_opportunity=str(opp.id), preview_language="es", subject_es="", body_es="")
    fallback = client.htmx("POST", "/settings/email-templates/preview", data=only_en).get_data(as_text=True)
    assert "No text in Spanish: a recipient in that language gets the English text." in fallback
    assert count() == 0  # previewing saves nothing


def test_preview_of_a_bad_template_or_without_opportunity_is_a_422(client, admin, make):
    opp = make.opportunity()
    bad = client.htmx("POST", "/settings/email-templates/preview",
                      data=form(preview_opportunity=str(opp.id), body_it="{{ ''.__class__ }}"))
    assert bad.status_code == 422 and "is not a placeholder that may be used" in bad.get_data(as_text=True)
    none = client.htmx("POST", "/settings/email-templates/preview", data=form())
    assert none.status_code == 422 and "Choose an opportunity to preview with." in none.get_data(as_text=True)
