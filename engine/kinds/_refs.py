"""Reference fields the email-sending kinds share, each with its "missing" and "deleted" messages."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine.kinds.base import Missing, RefField, exists
from extensions import db
from models import EmailTemplate, ExportTemplate, ExternalSourceAction, ReportTemplate, SmtpCredential


def email_template_field(required: bool = True) -> RefField:
    return RefField(
        _l("Email template"),
        required_message=_l("Choose an email template.") if required else None,
        missing_message=_l("The chosen email template does not exist any more."),
    )


def smtp_field() -> RefField:
    return RefField(
        _l("SMTP credentials"),
        required_message=_l("Choose the SMTP credentials to send with."),
        missing_message=_l("The chosen SMTP credentials do not exist any more."),
    )


def report_template_field(label=None) -> RefField:
    return RefField(
        label or _l("Report template"),
        required_message=_l("Choose a report template."),
        missing_message=_l("The chosen report template does not exist any more."),
    )


def _pairs(model, order, text):
    return [(r.id, getattr(r, text)) for r in db.session.execute(select(model).order_by(order)).scalars()]


def fill_email_template(field) -> None:
    field.set_records(_pairs(EmailTemplate, EmailTemplate.name, "name"))


def fill_smtp(field) -> None:
    field.set_records(_pairs(SmtpCredential, SmtpCredential.name, "name"))


def fill_report_template(field) -> None:
    field.set_records(_pairs(ReportTemplate, ReportTemplate.label, "label"))


def fill_export_template(field) -> None:
    field.set_records(_pairs(ExportTemplate, ExportTemplate.name, "name"))


def fill_external_action(field) -> None:
    field.set_records(_pairs(ExternalSourceAction, ExternalSourceAction.name, "name"))


def missing_records(kind_label, needs: list[str]) -> list[Missing]:
    """One note per kind of record `needs` names that does not exist yet."""
    checks = {
        "email_template": (EmailTemplate, _l("%(kind)s needs an email template."), "email_templates"),
        "smtp": (SmtpCredential, _l("%(kind)s needs SMTP credentials."), "smtp_credentials"),
        "report_template": (ReportTemplate, _l("%(kind)s needs a report template."), "report_templates"),
        "export_template": (ExportTemplate, _l("%(kind)s needs an export template."), "export_templates"),
        "external_action": (ExternalSourceAction, _l("%(kind)s needs a configured external-source action."),
                            "external_sources"),
    }
    notes = []
    for need in needs:
        model, message, page = checks[need]
        if not exists(model):
            notes.append(Missing(str(message) % {"kind": str(kind_label)}, page))
    return notes
