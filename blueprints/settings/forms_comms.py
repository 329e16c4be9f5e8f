"""Forms of Settings → SMTP credentials and Email templates; the services validate the data."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from blueprints.settings.forms import optional_int, options
from models.catalog import SMTP_SECURITY
from services.email_templates import LANGUAGE_LABELS, TemplateData
from services.smtp_credentials import SmtpData


class SmtpCredentialForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    host = StringField(_l("SMTP server"), render_kw={"maxlength": 255, "autocomplete": "off",
                                                     "placeholder": "smtp.example.com"})
    port = IntegerField(_l("Port"), default=587, validators=[Optional()])
    security = SelectField(_l("Security"), choices=options(SMTP_SECURITY), default="starttls",
                           validate_choice=False)
    username = StringField(_l("Username"), render_kw={"maxlength": 255, "autocomplete": "off"},
                           description=_l("Empty: the server accepts mail without logging in."))
    # Never rendered with a value (hide_value): a stored password does not come back into the page.
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "new-password"})
    clear_password = BooleanField(_l("Remove the stored password"))
    from_address = StringField(_l("From address"), render_kw={"maxlength": 254, "autocomplete": "off",
                                                              "placeholder": "noreply@example.com"})
    from_name = StringField(_l("From name"), render_kw={"maxlength": 120, "autocomplete": "off"})

    def smtp_data(self) -> SmtpData:
        """The form's data as services.smtp_credentials expects it."""
        return SmtpData(name=self.name.data or "", host=self.host.data or "", port=self.port.data,
                        security=self.security.data or "", username=self.username.data or "",
                        password=self.password.data or "", clear_password=bool(self.clear_password.data),
                        from_address=self.from_address.data or "", from_name=self.from_name.data or "")


class EmailTemplateForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 120, "autocomplete": "off"})
    subject_it = StringField(_l("Subject"), render_kw={"maxlength": 255, "lang": "it"})
    body_it = TextAreaField(_l("Body (HTML)"), render_kw={"rows": 12, "lang": "it", "spellcheck": "true"})
    subject_es = StringField(_l("Subject"), render_kw={"maxlength": 255, "lang": "es"})
    body_es = TextAreaField(_l("Body (HTML)"), render_kw={"rows": 12, "lang": "es", "spellcheck": "true"})
    subject_en = StringField(_l("Subject"), render_kw={"maxlength": 255, "lang": "en"})
    body_en = TextAreaField(_l("Body (HTML)"), render_kw={"rows": 12, "lang": "en", "spellcheck": "true"})

    def fill(self, template) -> None:
        """Put a saved template's texts in the form."""
        self.name.data = template.name
        for lang in LANGUAGE_LABELS:
            self[f"subject_{lang}"].data = (template.subjects or {}).get(lang, "")
            self[f"body_{lang}"].data = (template.bodies or {}).get(lang, "")

    def template_data(self) -> TemplateData:
        """The form's data as services.email_templates expects it."""
        return TemplateData(
            name=self.name.data or "",
            subjects={lang: self[f"subject_{lang}"].data or "" for lang in LANGUAGE_LABELS},
            bodies={lang: self[f"body_{lang}"].data or "" for lang in LANGUAGE_LABELS},
        )


class PreviewForm(FlaskForm):
    """Which opportunity and language to preview with (sent along with the editor's fields)."""

    class Meta:
        csrf = False  # posted with the editor form, whose token is checked

    preview_opportunity = SelectField(_l("Opportunity"), coerce=optional_int, validate_choice=False)
    preview_language = SelectField(_l("Language"), choices=options(LANGUAGE_LABELS), default="it",
                                   validate_choice=False)
