"""A8 Send report for e-signature: a report sent through the signature provider; on completion, an
external-source action runs."""

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from wtforms import Form

from engine.errors import PermanentError
from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, RefField, quoted
from extensions import db
from models import ExternalSourceAction, ReportTemplate, SignatureRequest


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
        from engine import signature

        notes = []
        # The built-in simulator is the default provider; an admin may choose another or switch signatures off.
        if signature.active() is None:
            notes.append(Missing(str(_l("Send report for e-signature needs a signature provider.")), "esignature"))
        return notes + _refs.missing_records(self.label, ["report_template", "external_action"])

    def summary(self, config: dict, lookup: Lookup) -> str:
        return "{} → {}".format(quoted(lookup.name(ReportTemplate, config.get("report_template_id"))),
                                RECIPIENTS.get(config.get("recipient"), "?"))

    def execute(self, run) -> dict:
        """Render the report for the signer, store the signature request and hand it to the provider."""
        from engine import dry_run, recipients, signature

        config = run.config or {}
        provider = signature.active()
        if provider is None:
            raise PermanentError(_("No signature provider is configured."))
        template = db.session.get(ReportTemplate, config.get("report_template_id") or 0)
        action = db.session.get(ExternalSourceAction, config.get("external_action_id") or 0)
        if template is None:
            raise PermanentError(_("The report template of this action no longer exists."))
        if action is None:
            raise PermanentError(_("The external-source action of this action no longer exists."))
        who = recipients.for_role(run.opportunity, config.get("recipient") or "")
        if dry_run.active() is not None:  # no document rendered, nothing handed to the provider
            return {"provider": provider.key, "signer": who.address, "language": who.language,
                    "document": f"{template.label}.pdf", "dry_run": True}
        request = _request_for(run, provider.key, template, action, who)
        signer = signature.Signer(who.name, who.address, who.language)
        callback = signature.Callback(action.source_name, webhook_url(action.source_name))
        request.reference = provider.send(run, request, signer, callback)
        # Conditional: the signer may already have answered between the email's 250 and this commit.
        db.session.execute(update(SignatureRequest).where(SignatureRequest.id == request.id,
                                                          SignatureRequest.status == "sending")
                           .values(status="sent").execution_options(synchronize_session=False))
        return {"signature_request_id": request.id, "provider": provider.key, "reference": request.reference,
                "signer": who.address, "document": request.document_name, "sha256": request.document_sha256,
                "emails": _emails_of(run)}


def _emails_of(run) -> list[dict]:
    """What the provider emailed for this run, if it emails through our outbox (the simulator does)."""
    from sqlalchemy import select

    from models import OutgoingEmail

    rows = db.session.execute(select(OutgoingEmail).where(OutgoingEmail.run_id == run.id)
                              .order_by(OutgoingEmail.id)).scalars()
    return [{"to": r.recipient, "role": r.recipient_role, "language": r.language, "message_id": r.message_id,
             "status": r.status} for r in rows]


def _request_for(run, provider_key, template, action, who):
    """The run's signature request: made once, so a retried attempt sends the same document and token."""
    import hashlib

    from sqlalchemy import select

    from engine.signature.document import render_pdf

    found = db.session.execute(select(SignatureRequest).where(SignatureRequest.run_id == run.id)).scalar_one_or_none()
    if found is not None:
        return found
    pdf = render_pdf(template, run.opportunity, who.language)
    request = SignatureRequest(run_id=run.id, opportunity_id=run.opportunity_id, external_action_id=action.id,
                               source_name=action.source_name, provider=provider_key, signer_email=who.address,
                               signer_name=who.name, language=who.language, status="sending",
                               document_name=f"{template.label}.pdf", document=pdf,
                               document_sha256=hashlib.sha256(pdf).hexdigest())
    db.session.add(request)
    db.session.flush()
    return request


def webhook_url(source_name: str) -> str:
    """The address a provider calls back (PUBLIC_URL + /hooks/<source>)."""
    from flask import url_for

    base = current_app.config["PUBLIC_URL"]
    with current_app.test_request_context(base_url=base):
        return url_for("public.hook", source=source_name, _external=True)


KIND = SendForSignature()
