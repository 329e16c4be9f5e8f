"""Email from an action run, at most once and never silently lost (SPEC E7, E8; docs/engine.md,
"External effects"). Send email uses it; generate report, e-signature and export reuse it with
attachments.

For each recipient an OutgoingEmail row is written with its Message-ID; the run is recorded `sending`
(committed, fenced by the claim) before the server is contacted; each 250 is committed before the next
message goes. A transient failure leaves the run to the engine's backoff, and the next attempt sends
only the messages not yet accepted, with the Message-IDs already recorded (a receiver that got one
after all can tell the copy by its id). A worker that dies meanwhile leaves the run `sending`, which
the sweeper turns into `needs_review`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from engine import executor
from engine.errors import PermanentError, TransientError
from engine.mail import Connection, Letter, Sender, build, check_size, new_message_id
from engine.recipients import Recipient
from extensions import db
from models import ActionRun, OutgoingEmail, SmtpCredential
from models.base import utcnow
from services import ServiceError


@dataclass
class Outgoing:
    recipient: Recipient
    letter: Letter


def sender_of(cred: SmtpCredential) -> Sender:
    """The credentials ready to log in; a password no key opens is a PermanentError."""
    try:
        return Sender.from_credential(cred)
    except ServiceError as err:
        raise PermanentError(err.message) from err


def _summary(cred: SmtpCredential | None, template_name: str | None, rows: list[dict]) -> dict:
    """What the run keeps in `result` (the history's Email tab reads the rows; this is the run's view)."""
    return {"template": template_name, "credentials": cred.name if cred else None,
            "sender": cred.from_address if cred else None, "emails": rows}


def record_failure(run: ActionRun, error: str, role: str | None, template_name: str | None = None,
                   cred: SmtpCredential | None = None, recipient: Recipient | None = None) -> None:
    """A row saying why nothing was sent (e.g. the client has no address), committed under the claim;
    the caller then raises the error so the run fails with it."""
    db.session.add(OutgoingEmail(
        run_id=run.id, opportunity_id=run.opportunity_id, kind=run.kind, template_name=template_name,
        recipient=recipient.address if recipient else "", recipient_name=recipient.name if recipient else None,
        recipient_role=recipient.role if recipient else (role or ""), language=recipient.language if recipient else None,
        credentials_name=cred.name if cred else None, sender=cred.from_address if cred else None,
        message_id=None, status="failed", error=error))
    executor.checkpoint(run)


def send(run: ActionRun, cred: SmtpCredential, template_name: str | None, outgoing: list[Outgoing],
         extra: dict | None = None) -> dict:
    """Send each message once through `cred`; returns the run's result. Raises TransientError (retry
    later: what was accepted stays sent) or PermanentError (the run fails with the reason)."""
    previous = {r.recipient.lower(): r for r in db.session.execute(
        select(OutgoingEmail).where(OutgoingEmail.run_id == run.id, OutgoingEmail.message_id.is_not(None))
    ).scalars()}
    pairs, view = [], []
    for item in outgoing:
        row = previous.get(item.recipient.address.lower())
        if row is None:
            row = OutgoingEmail(run_id=run.id, opportunity_id=run.opportunity_id, kind=run.kind,
                                message_id=new_message_id(cred.from_address), status="sending")
            db.session.add(row)
        if row.status != "sent":
            rcpt, letter = item.recipient, item.letter
            row.template_name, row.recipient, row.recipient_name = template_name, rcpt.address, rcpt.name
            row.recipient_role, row.language, row.subject = rcpt.role, letter.language, letter.subject
            row.credentials_name, row.sender = cred.name, cred.from_address
            row.attachments = [{"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
                               for a in letter.attachments]
            row.status, row.error = "sending", None
        pairs.append((row, item))
        view.append({"to": row.recipient, "role": row.recipient_role, "language": row.language,
                     "message_id": row.message_id, "status": row.status})
    result = {**_summary(cred, template_name, view), **(extra or {})}

    todo = []
    try:
        sender = sender_of(cred)
        for index, (row, item) in enumerate(pairs):
            if row.status != "sent":
                msg = build(sender, item.letter, row.message_id)
                row.size = check_size(msg)
                todo.append((index, row, msg))
    except PermanentError as err:
        _failed(view, [i for i, v in enumerate(view) if v["status"] != "sent"], pairs, str(err))
        executor.checkpoint(run, result=result)
        raise
    if not todo:
        return result

    executor.begin_external(run, result=result)
    sent = 0
    try:
        with Connection(sender) as conn:
            for index, _row, msg in todo:
                conn.send(msg, view[index]["to"])
                sent += 1
                view[index]["status"] = "sent"
                pairs[index][0].status, pairs[index][0].sent_at = "sent", utcnow()
                if sent < len(todo):  # the last one is committed with the run's outcome
                    executor.checkpoint(run, result=result)
    except (TransientError, PermanentError) as err:
        _failed(view, [i for i, _r, _m in todo[sent:]], pairs, str(err))
        executor.checkpoint(run, result=result)
        raise
    return result


def _failed(view: list[dict], indexes, pairs, error: str) -> None:
    for i in indexes:
        view[i]["status"] = "failed"
        row = pairs[i][0]
        row.status, row.error = "failed", error


def check_credentials(cred_id) -> SmtpCredential:
    """The action's SMTP credentials, or a PermanentError when they were deleted."""
    cred = db.session.get(SmtpCredential, cred_id or 0)
    if cred is None:
        raise PermanentError(_("The SMTP credentials of this action no longer exist."))
    return cred
