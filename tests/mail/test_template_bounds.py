"""User-written templates are bounded (SPEC S2): a template that loops for ever, builds huge values or
recurses stops with a reason in words — at save, at preview and at run time — within about its time
budget, and the web process neither hangs nor grows."""

import resource
import time

import pytest
from sqlalchemy import func, select

from engine import render
from engine.executor import execute
from extensions import db
from models import EmailTemplate
from services.substates import open_substate
from tests.engine_support import runs
from tests.mail import support
from tests.mail.test_email_template_settings import form

# One of each kind of bomb, with the words its refusal uses. A loop that writes hits the output limit in
# well under a second on an idle machine, or the time budget first on a busy one: either is its reason.
BOMBS = {
    "loop with output": ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                         ("characters of text", "took longer than")),
    "silent loop": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                    "took longer than"),
    "long text": ("{{ ('a'*100000)*100000 }}", "text or list longer"),
    "big number": ("{{ 9**(9**9) }}", "number too big"),
    "recursive macro": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "within itself too deeply"),
    "memory": ("{{ 'a'|center(1000000000) }}", "more memory"),
    "doubling macro": ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('ab') }}", "more memory"),
    "deep nesting": ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
}


def _grown_mb(before_kb: int) -> float:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024


@pytest.fixture
def admin(client, make):
    user = make.user("admin")
    client.login(user)
    return user


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_is_refused_at_save_and_preview_in_the_users_words(client, admin, make, name):
    source, words = BOMBS[name]
    opp = make.opportunity()
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    words = (words,) if isinstance(words, str) else words
    saved = client.post("/settings/email-templates/new", data=form(body_it=source))
    assert saved.status_code == 422 and any(w in saved.get_data(as_text=True) for w in words)
    assert db.session.scalar(select(func.count()).select_from(EmailTemplate)) == 0
    preview = client.htmx("POST", "/settings/email-templates/preview",
                          data=form(body_it=source, preview_opportunity=str(opp.id), preview_language="it"))
    assert preview.status_code == 422 and any(w in preview.get_data(as_text=True) for w in words)
    assert time.monotonic() - started < 8  # two renders of about a second at most, on a loaded machine
    assert _grown_mb(before) < 100
    # The next template is filled in as usual (a killed child was replaced).
    assert render.render("Hi {{ client.name }}", {"client": {"name": "Mario"}}, html=False) == "Hi Mario"


def test_refusals_are_in_the_users_language(client, admin):
    client.post("/language", data={"lang": "it"})
    response = client.post("/settings/email-templates/new", data=form(body_it=BOMBS["silent loop"][0]))
    assert response.status_code == 422 and "Il modello ha impiegato più di" in response.get_data(as_text=True)


def test_a_bomb_saved_before_the_limits_fails_its_run_with_the_reason(mail_app, make, smtp_server):
    server = smtp_server()
    tmpl = support.template(bodies={lang: BOMBS["silent loop"][0] for lang in ("it", "es", "en")})
    w = support.world(make, support.credentials(server), tmpl)
    open_substate(w["opp"], w["substate"].id, None)
    db.session.commit()
    (run,) = runs(kind="send_email")
    started = time.monotonic()
    execute(run.id, "send_email")
    (run,) = runs(id=run.id)
    assert run.status == "failed" and "took longer than" in run.error and server.messages == []
    assert time.monotonic() - started < 5


def test_a_template_within_limits_still_renders_and_a_child_is_reused(app):
    big = "{% for i in range(20000) %}{{ i }},{% endfor %}"
    assert render.render(big, {}, html=False).startswith("0,1,2,")
    started = time.monotonic()
    for _ in range(50):
        assert render.render("Hi {{ client.name }}", {"client": {"name": "Mario"}}, html=False) == "Hi Mario"
    assert time.monotonic() - started < 2  # no new process per render


def test_a_bomb_in_an_activity_description_fails_its_run_with_the_reason(app, make):
    from tests.test_activities import _run_create_activity

    run, _opp = _run_create_activity(make, activity_type_id=make.activity_type().id,
                                     description=BOMBS["recursive macro"][0])
    assert run.status == "failed" and "within itself too deeply" in run.error


def test_a_bomb_in_a_report_template_is_refused_at_save(client, admin):
    response = client.post("/settings/report-templates/new",
                           data={"name": "Bomb", "html": BOMBS["long text"][0], "paper_size": "A4"})
    assert response.status_code == 422 and "text or list longer" in response.get_data(as_text=True)


def test_a_report_whose_html_nests_too_deeply_fails_in_words_without_holding_the_process(app):
    from engine import pdf
    from engine.errors import PermanentError

    nested = "<div>" * 3000 + "x" + "</div>" * 3000
    started = time.monotonic()
    app.config["PDF_SECONDS"] = 3.0
    with pytest.raises(PermanentError) as refused:
        pdf.html_to_pdf(pdf.document(nested, "", "A4", "portrait", "en"))
    assert "took longer than 3 s to lay out" in str(refused.value) or "nested too deeply" in str(refused.value)
    assert time.monotonic() - started < 8
    assert pdf.html_to_pdf(pdf.document("<p>Fine</p>", "", "A4", "portrait", "en")).startswith(b"%PDF")


def test_text_and_placeholders_are_filled_in_process_everything_else_in_the_child(app):
    plain = "<p>Dear {{ client.name }},</p> {{ opportunity.name }}"
    assert render._plain_template(plain, True) is not None  # no trip to a child for the common template
    for other in ("{{ client.name|upper }}", "{% for i in range(3) %}x{% endfor %}", "{{ 'a' * 3 }}",
                  "{{ client.name.__class__ }}", "{{ f() }}"):
        assert render._plain_template(other, True) is None, other
    values = {"client": {"name": "<Mario>"}, "opportunity": {"name": "Roof"}}
    assert render.render(plain, values, html=True) == "<p>Dear &lt;Mario&gt;,</p> Roof"
