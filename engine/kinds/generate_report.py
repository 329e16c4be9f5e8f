"""A6 Generate report: a report template rendered to PDF and emailed as an attachment to a recipient role."""

from flask_babel import lazy_gettext as _l
from wtforms import Form

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, quoted
from models import ReportTemplate


class GenerateReport(Kind):
    key = "generate_report"
    label = _l("Generate report")
    help = _l("Generates a report (Settings → Report templates) as a PDF and sends it as an email attachment.")

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


KIND = GenerateReport()
