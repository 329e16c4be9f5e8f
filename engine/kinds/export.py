"""A9 Export: the opportunity's data by an export template (CSV or XLSX), emailed to a recipient."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, Form
from wtforms.validators import Email, Optional

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, RefField, quoted
from models import ExportTemplate


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


KIND = Export()
