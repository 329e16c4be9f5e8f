"""The built-in signature provider: a simulator that behaves like a real one from the outside.

It emails the signer (through engine.outbox, at most once) a link to /sign/<token>, a public page of
this app; the token is the request's reference, 32 random bytes. When the signer signs or declines,
`callback` builds the same HMAC-signed POST a real provider would send to /hooks/<source> and hands it
to services.webhooks.receive — the function the public webhook view calls — so the code path after the
HTTP layer is identical. (A loopback HTTP request was the alternative: it would need the app's public
URL to be reachable from itself and a second request inside the first one's transaction.)
"""

from __future__ import annotations

import secrets
from html import escape

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine.errors import PermanentError

TEMPLATE_NAME = "E-signature (simulator)"


class Simulator:
    key = "simulator"
    label = _l("Built-in simulator (signing page in this application)")

    def send(self, run, request, signer, callback) -> str:
        """Email the signer a link to the signing page; the token is the reference."""
        from engine import outbox
        from engine.mail import Attachment, Letter
        from engine.recipients import Recipient

        cred = _credentials()
        request.reference = request.reference or secrets.token_urlsafe(32)
        link = sign_url(request.reference)
        with force_locale(signer.language):
            subject = _("Document to sign: %(name)s", name=request.document_name)
            intro = _("Hello %(name)s, please read the attached document and sign it at this address:",
                      name=signer.name)
        html = (f'<!doctype html>\n<html lang="{signer.language}"><body><p>{escape(intro)}</p>'
                f'<p><a href="{escape(link)}">{escape(link)}</a></p></body></html>')
        letter = Letter(to=signer.email, to_name=signer.name, subject=subject, html=html, text=f"{intro}\n\n{link}\n",
                        language=signer.language,
                        attachments=[Attachment(request.document_name, request.document, "application/pdf")])
        recipient = Recipient(run.config.get("recipient") or "client", signer.email, signer.name, signer.language)
        outbox.send(run, cred, TEMPLATE_NAME, [outbox.Outgoing(recipient, letter)])
        return request.reference


def sign_url(token: str) -> str:
    """The signing page's absolute URL (PUBLIC_URL: the address signers reach this app at)."""
    base = current_app.config["PUBLIC_URL"]
    with current_app.test_request_context(base_url=base):
        return url_for("public.sign_page", token=token, _external=True)


def _credentials():
    """The SMTP credentials the simulator mails with: ESIGN_SIMULATOR_SMTP by name, else the first."""
    from extensions import db
    from models import SmtpCredential

    name = current_app.config.get("ESIGN_SIMULATOR_SMTP")
    stmt = select(SmtpCredential).order_by(SmtpCredential.id).limit(1)
    if name:
        stmt = stmt.where(SmtpCredential.name == name)
    cred = db.session.execute(stmt).scalar_one_or_none()
    if cred is None:
        raise PermanentError(_("The signature simulator needs SMTP credentials to email the signer."))
    return cred


def complete(request, outcome: str):
    """The signer's answer on the signing page, delivered as the provider's signed callback (committed)."""
    import json
    import time
    import uuid

    from services import webhooks

    body = json.dumps({"id": uuid.uuid4().hex, "type": f"signature.{outcome}", "reference": request.reference,
                       "provider": "simulator"}).encode()
    headers = webhooks.sign_headers(webhooks.secret_of(request.source_name), body, int(time.time()))
    return webhooks.handle(request.source_name, headers, body)
