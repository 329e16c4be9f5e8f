"""A9 Export: the opportunity's data by an export template (CSV or XLSX), emailed to a recipient."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from wtforms import EmailField, Form
from wtforms.validators import Email, Optional

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, RefField, quoted
from extensions import db
from models import EmailTemplate, ExportTemplate


class Export(Kind):
    key = "export"
    label = _l("Export")
    help = _l("Exports the opportunity with an export template (CSV or XLSX) and emails the file.")

    class ConfigForm(Form):
        export_template_id = RefField(
            _l("Export template"),
            required_message=_l("Choose an export template."),
            missing_message=_l("The chosen export template does not exist any more."),
        )
        email_template_id = _refs.email_template_field(required=False)
        smtp_credential_id = _refs.smtp_field()
        recipient = RecipientField(_l("Recipient"))
        extra_address = EmailField(
            _l("Also send to this address (optional)"),
            validators=[Optional(), Email(message=_l("Enter a valid email address."), check_deliverability=False)],
        )

    def fill(self, form, substate) -> None:
        _refs.fill_export_template(form.export_template_id)
        _refs.fill_email_template(form.email_template_id)
        _refs.fill_smtp(form.smtp_credential_id)

    def prerequisites(self, substate) -> list[Missing]:
        return _refs.missing_records(self.label, ["export_template", "smtp"])

    def config_of(self, form) -> dict:
        config = super().config_of(form)
        config["extra_address"] = (form.extra_address.data or "").strip() or None
        return config

    def summary(self, config: dict, lookup: Lookup) -> str:
        return "{} → {}".format(quoted(lookup.name(ExportTemplate, config.get("export_template_id"))),
                                RECIPIENTS.get(config.get("recipient"), "?"))

    def execute(self, run) -> dict:
        """Build the export for the recipient (rows: engine.exports), keep the file, email it attached."""
        from engine import exports, files, outbox, recipients
        from engine.errors import PermanentError
        from engine.mail import Attachment

        config = run.config or {}
        role = config.get("recipient")
        export = db.session.get(ExportTemplate, config.get("export_template_id") or 0)
        template = db.session.get(EmailTemplate, config.get("email_template_id") or 0)
        cred, person, stand_ins = None, None, []
        try:
            if export is None:
                raise PermanentError(_("The export template of this action no longer exists."))
            if config.get("email_template_id") and template is None:
                raise PermanentError(_("The email template of this action no longer exists."))
            cred = outbox.check_credentials(config.get("smtp_credential_id"))
            person = recipients.for_role(run.opportunity, role, stand_ins)
            ext, content_type = exports.FORMATS.get(export.file_format, exports.FORMATS["csv"])
            filename = f"{_stem(export.name)}-{run.opportunity_id}.{ext}"
            stored, content = files.made_once(
                run, filename, content_type,
                lambda: exports.build(export.columns or [], export.file_format,
                                      exports.rows_for(run.opportunity, person), person.language))
            attachment = Attachment(filename, content, content_type)
            people = [person]
            if config.get("extra_address"):
                people.append(recipients.Recipient("address", config["extra_address"], config["extra_address"],
                                                   person.language))
            people = recipients.unique(people)
            outgoing = [outbox.Outgoing(p, _letter(template, export, run.opportunity, p, attachment)) for p in people]
        except PermanentError as err:
            outbox.record_failure(run, str(err), role, template.name if template else None, cred, person)
            raise
        extra = {"export_template": export.name, "export_type": export.file_format, "extension": ext,
                 "recipient": person.address, "files": [files.summary(stored)]}
        if stand_ins:
            extra["stand_ins"] = stand_ins
        return outbox.send(run, cred, template.name if template else export.name, outgoing, extra)


def _stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name or "export").strip("-") or "export"


def _letter(template, export, opp, person, attachment):
    """The chosen email template with the file attached, or a short default message in the recipient's
    language when the action has none."""
    from flask_babel import force_locale

    from engine import render
    from engine.mail import Letter

    if template is not None:
        return render.compose(template, opp, person, [attachment])
    with force_locale(person.language):
        subject = _("Export “%(name)s”", name=export.name)
        text = _("Attached: the export “%(name)s” (%(file)s).", name=export.name, file=attachment.filename)
    html = render.html_document(f"<p>{escape(text)}</p>", person.language)
    return Letter(to=person.address, to_name=person.name, subject=str(subject), html=html, text=str(text),
                  language=person.language, attachments=[attachment])


KIND = Export()
