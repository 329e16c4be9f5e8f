"""A5 Send email: an email template sent with SMTP credentials to a recipient role, plus internal users.

Each recipient gets the template in their own language (engine.recipients says whose language that is);
sending follows the external-effect rule through engine.outbox.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased
from wtforms import Form

from engine.kinds import _refs
from engine.kinds.base import RECIPIENTS, Kind, Lookup, Missing, RecipientField, RefsField, options, quoted
from extensions import db
from models import (
    ActionRun,
    Channel,
    Customer,
    EmailTemplate,
    Opportunity,
    OpportunityType,
    PartnerCompany,
    SmtpCredential,
    User,
)

# What rendering reads besides the run and its opportunity, read with them in one query (engine.executor): the
# placeholders' client, type, channel, partners and owner (aliased: a kind's own records may be of the same models).
_INSTALLER, _COMMERCIAL, _OWNER = aliased(PartnerCompany), aliased(PartnerCompany), aliased(User)
OPPORTUNITY_RECORDS = (
    (Customer, Customer.id == Opportunity.customer_id),
    (OpportunityType, OpportunityType.id == Opportunity.type_id),
    (Channel, Channel.id == Opportunity.channel_id),
    (_INSTALLER, _INSTALLER.id == Opportunity.installer_id),
    (_COMMERCIAL, _COMMERCIAL.id == Opportunity.commercial_id),
    (_OWNER, _OWNER.id == Opportunity.owner_id),
)


def internal_users() -> list[tuple[int, str]]:
    users = db.session.execute(
        select(User).where(User.role != "partner", User.active.is_(True)).order_by(User.name)
    ).scalars()
    return [(u.id, u.name) for u in users]


class SendEmail(Kind):
    key = "send_email"
    opportunity_records = OPPORTUNITY_RECORDS
    # Filling a template in for a few recipients is short: the claim goes with the `sending` mark (one UPDATE
    # and one commit fewer per email). A refused template or a message too big writes the claim with its
    # failed rows instead (engine.outbox: record_failure, or send's checkpoint before it raises).
    claim_with_first_write = True
    label = _l("Send email")
    help = _l("Sends an email template to the client, the installer, the commercial or the internal owner; "
              "it is written in the recipient's language.")

    def read_with(self) -> list:
        return [(EmailTemplate, EmailTemplate.id == ActionRun.config["email_template_id"].as_integer()),
                (SmtpCredential, SmtpCredential.id == ActionRun.config["smtp_credential_id"].as_integer())]

    class ConfigForm(Form):
        email_template_id = _refs.email_template_field()
        smtp_credential_id = _refs.smtp_field()
        recipient = RecipientField(_l("Recipient"))
        extra_user_ids = RefsField(
            _l("Also send to (optional)"),
            missing_message=_l("One of the chosen users does not exist any more."),
        )

    def fill(self, form, substate) -> None:
        _refs.fill_email_template(form.email_template_id)
        _refs.fill_smtp(form.smtp_credential_id)
        form.extra_user_ids.choices = options(internal_users())

    def prerequisites(self, substate) -> list[Missing]:
        return _refs.missing_records(self.label, ["email_template", "smtp"])

    def config_of(self, form) -> dict:
        return {
            "email_template_id": form.email_template_id.data,
            "smtp_credential_id": form.smtp_credential_id.data,
            "recipient": form.recipient.data,
            "extra_user_ids": sorted(set(form.extra_user_ids.data or [])),
        }

    def summary(self, config: dict, lookup: Lookup) -> str:
        text = "{} → {}".format(quoted(lookup.name(EmailTemplate, config.get("email_template_id"))),
                                RECIPIENTS.get(config.get("recipient"), "?"))
        extra = len(config.get("extra_user_ids") or [])
        if extra:
            text += " " + str(_l("+ %(n)s users", n=extra))
        return text

    def execute(self, run) -> dict:
        """Render the template for each recipient in their language and send it, each message once."""
        from engine import outbox, recipients, render
        from engine.errors import PermanentError

        config = run.config or {}
        role = config.get("recipient")
        # Read with the run (read_with): found in the session, not asked for again.
        template = db.session.get(EmailTemplate, config.get("email_template_id") or 0)
        cred = db.session.get(SmtpCredential, config.get("smtp_credential_id") or 0)
        left_out, stand_ins = [], []  # stand_ins: who received it for an absent user (services.absences)
        try:
            if template is None:
                cred = None  # as before: the row names no credentials when the template is gone
                raise PermanentError(_("The email template of this action no longer exists."))
            if cred is None:
                raise PermanentError(_("The SMTP credentials of this action no longer exist."))
            people = [recipients.for_role(run.opportunity, role, stand_ins)] if role else []
            users, left_out = recipients.internal_users(config.get("extra_user_ids"), stand_ins)
            people = recipients.unique(people + users)
            if not people:
                raise PermanentError(_("Nobody to send the email to: the chosen users are no longer active."))
            outgoing = [outbox.Outgoing(p, render.compose(template, run.opportunity, p)) for p in people]
        except PermanentError as err:
            outbox.record_failure(run, str(err), role, template.name if template else None, cred)
            raise
        extra = {"left_out_user_ids": left_out} if left_out else {}
        if stand_ins:
            extra["stand_ins"] = stand_ins
        return outbox.send(run, cred, template.name, outgoing, extra)


KIND = SendEmail()
