"""A6 Generate report: a report template rendered to PDF and emailed as an attachment to a recipient role."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, quoted
from extensions import db
from models import EmailTemplate, ReportTemplate


class GenerateReport(Kind):
    key = "generate_report"
    label = _l("Generate report")
    help = _l("Generates a report from a template an administrator writes in Settings → Report templates, as a PDF, "
              "and sends it as an email attachment.")

    class ConfigForm(Form):
        report_template_id = _refs.report_template_field()
        email_template_id = _refs.email_template_field()
        smtp_credential_id = _refs.smtp_field()
        recipient = RecipientField(_l("Recipient"))

    def fill(self, form, substate) -> None:
        _refs.fill_report_template(form.report_template_id)
        _refs.fill_email_template(form.email_template_id)
        _refs.fill_smtp(form.smtp_credential_id)

    def prerequisites(self, substate) -> list[Missing]:
        return _refs.missing_records(self.label, ["report_template", "email_template", "smtp"])

    def summary(self, config: dict, lookup: Lookup) -> str:
        return "{} → {}".format(quoted(lookup.name(ReportTemplate, config.get("report_template_id"))),
                                RECIPIENTS.get(config.get("recipient"), "?"))

    def execute(self, run) -> dict:
        """Render the report in the recipient's language, keep the file, and email it as an attachment."""
        from engine import files, outbox, pdf, recipients, render
        from engine.errors import PermanentError
        from engine.mail import Attachment

        config = run.config or {}
        role = config.get("recipient")
        report = db.session.get(ReportTemplate, config.get("report_template_id") or 0)
        template = db.session.get(EmailTemplate, config.get("email_template_id") or 0)
        cred, person, stand_ins = None, None, []
        try:
            if report is None:
                raise PermanentError(_("The report template of this action no longer exists."))
            if template is None:
                raise PermanentError(_("The email template of this action no longer exists."))
            cred = outbox.check_credentials(config.get("smtp_credential_id"))
            person = recipients.for_role(run.opportunity, role, stand_ins)
            filename = pdf.filename_for(report, run.opportunity)
            stored, content = files.made_once(
                run, filename, "application/pdf",
                lambda: pdf.render_report(report, run.opportunity, person.language, person))
            attachment = Attachment(filename, content, "application/pdf")
            letter = render.compose(template, run.opportunity, person, [attachment])
        except PermanentError as err:
            outbox.record_failure(run, str(err), role, template.name if template else None, cred, person)
            raise
        extra = {"report": report.label, "files": [files.summary(stored)]}
        if stand_ins:
            extra["stand_ins"] = stand_ins
        return outbox.send(run, cred, template.name, [outbox.Outgoing(person, letter)], extra)


KIND = GenerateReport()
