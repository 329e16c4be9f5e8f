"""The translations kept on the request (extensions._ContextDomain) follow the locale: a page's strings in
the user's language, an email's in its recipient's (force_locale) and back, and a changed language after
refresh() — in templates and in Python code alike."""

from flask import render_template_string, session
from flask_babel import force_locale, gettext, refresh


def test_translations_follow_force_locale_and_refresh(app):
    with app.test_request_context(headers={"Accept-Language": "it"}):
        assert gettext("Would run") == "Verrebbe eseguita"
        assert render_template_string("{{ _('Would run') }}") == "Verrebbe eseguita"
        with force_locale("es"):  # an email to a Spanish recipient, rendered during an Italian request
            assert gettext("Would run") == "Se ejecutaría"
            assert render_template_string("{{ _('Would fail') }}") == "Fallaría"
        assert gettext("Would run") == "Verrebbe eseguita"


def test_a_language_changed_mid_request_is_seen_after_refresh(app):
    with app.test_request_context(headers={"Accept-Language": "it"}):
        assert gettext("Would fail") == "Fallirebbe"
        session["lang"] = "es"  # the language switch, as the header's buttons set it
        refresh()
        assert gettext("Would fail") == "Fallaría"
