"""A8 Send report for e-signature: a report sent through the signature provider; on completion, an
external-source action runs."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import Form

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, RefField, quoted
from models import ReportTemplate


class SendForSignature(Kind):
    key = "esignature"
    label = _l("Send report for e-signature")
    help = _l("Sends a report for electronic signature through the signature provider; when it is signed, "
              "the chosen external-source action runs.")

    class ConfigForm(Form):
        report_template_id = _refs.report_template_field(_l("Report label"))
        recipient = RecipientField(_l("Email recipient"))
        external_action_id = RefField(
            _l("External-source action"),
            required_message=_l("Choose the external-source action to run when the signature completes."),
            missing_message=_l("The chosen external-source action does not exist any more."),
        )

    def fill(self, form, substate) -> None:
        _refs.fill_report_template(form.report_template_id)
        _refs.fill_external_action(form.external_action_id)

    def prerequisites(self, substate) -> list[Missing]:
        notes = []
        # The built-in simulator is the default provider; an install may switch signatures off.
        if not current_app.config.get("ESIGN_PROVIDER", "simulator"):
            notes.append(Missing(str(_l("Send report for e-signature needs a signature provider.")), "esignature"))
        return notes + _refs.missing_records(self.label, ["report_template", "external_action"])

    def summary(self, config: dict, lookup: Lookup) -> str:
        return "{} → {}".format(quoted(lookup.name(ReportTemplate, config.get("report_template_id"))),
                                RECIPIENTS.get(config.get("recipient"), "?"))


KIND = SendForSignature()
