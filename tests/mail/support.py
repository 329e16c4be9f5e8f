"""Records for the email tests: credentials pointing at the test SMTP server, a template in three
languages, and an opportunity whose client, owner and partners read different languages."""

from decimal import Decimal

from extensions import db
from models import EmailTemplate, SmtpCredential
from services.secrets import encrypt
from tests.engine_support import add_action
from tests.mail.conftest import PASSWORD, USER

SUBJECTS = {
    "it": "Documentazione in sospeso: {{ opportunity.name }}",
    "es": "Documentación pendiente: {{ opportunity.name }}",
    "en": "Documents pending: {{ opportunity.name }}",
}
BODIES = {
    "it": "<p>Gentile {{ recipient.name }},</p>\n<p>per <b>{{ opportunity.name }}</b> ({{ opportunity.amount }}) "
          "ci servono i documenti di {{ client.name }}.</p>\n<p>{{ installer.name }}</p>",
    "es": "<p>Estimado/a {{ recipient.name }}:</p>\n<p>para <b>{{ opportunity.name }}</b> ({{ opportunity.amount }}) "
          "necesitamos la documentación de {{ client.name }}.</p>",
    "en": "<p>Dear {{ recipient.name }},</p>\n<p>for <b>{{ opportunity.name }}</b> ({{ opportunity.amount }}) "
          "we need the documents of {{ client.name }}.</p>",
}


def credentials(server, security: str | None = None, auth: bool = False, password: str = PASSWORD,
                name: str = "Company mail", port: int | None = None) -> SmtpCredential:
    cred = SmtpCredential(name=name, host="127.0.0.1", port=port or server.port,
                          security=security or server.security, username=USER if auth else None,
                          password_encrypted=encrypt(password) if auth else None,
                          from_address="noreply@oppflow.example", from_name="Oppflow Vendite")
    db.session.add(cred)
    db.session.commit()
    return cred


def template(name: str = "Documentation reminder", subjects=None, bodies=None) -> EmailTemplate:
    record = EmailTemplate(name=name, subjects=dict(subjects or SUBJECTS), bodies=dict(bodies or BODIES))
    db.session.add(record)
    db.session.commit()
    return record


def world(make, cred, tmpl, recipient: str = "client", extra_users=(), group: str = "on_open", **opp_kw):
    """A flow whose first substate sends `tmpl` on open; an opportunity with an Italian client, a Spanish
    owner and an installer company writing in English."""
    flow = make.flow((2,))
    owner = make.user("manager", name="Lucía Gómez", email="lucia@oppflow.example", language="es")
    installer = make.company("installer", name="Solare Nord", email="info@solarenord.example", language="en")
    customer = make.customer(name="Mario Rossi", email="mario.rossi@example.it", language="it")
    opp = make.opportunity(flow, **{"name": "Impianto Rossi", "amount": Decimal("12345.5"), "customer": customer,
                                    "owner": owner, "installer": installer, **opp_kw})
    substate = flow.substates[0]
    action = add_action(substate, group, "send_email", email_template_id=tmpl.id, smtp_credential_id=cred.id,
                        recipient=recipient, extra_user_ids=[u.id for u in extra_users])
    return {"flow": flow, "opp": opp, "owner": owner, "installer": installer, "customer": customer,
            "substate": substate, "action": action}
