"""Email from an action run, at most once and never silently lost (SPEC E7, E8; docs/engine.md,
"External effects"). Send email uses it; generate report, e-signature and export reuse it with
attachments.

For each recipient an OutgoingEmail row is written with its Message-ID; the run is recorded `sending`
(committed, fenced by the claim) before the server is contacted; each 250 is committed before the next
message goes. A transient failure leaves the run to the engine's backoff, and the next attempt sends
only the messages not yet accepted, with the Message-IDs already recorded (a receiver that got one
after all can tell the copy by its id). A worker that dies meanwhile leaves the run `sending`, which
the sweeper turns into `needs_review`. A send-email run started with "Retry" (services.runs.retry_run)
sends only to the recipients who have no sent message from the runs it retries: after a partial failure
nobody gets the same email twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from engine import dry_run, executor
from engine.errors import PermanentError, TransientError
from engine.mail import Connection, Letter, Sender, build, check_size, encode, new_message_id
from engine.recipients import Recipient
from extensions import db
from models import ActionRun, OutgoingEmail, SmtpCredential
from models.base import utcnow
from services import ServiceError

_TABLE = OutgoingEmail.__table__
# A message accepted by the server (with_outcome: bind names that are no column's, see engine.along).
_SENT = _TABLE.update().where(_TABLE.c.id == bindparam("o_id")).values(status="sent", sent_at=bindparam("o_sent_at"))


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
    later: what was accepted stays sent) or PermanentError (the run fails with the reason).

    A recipient who already has a sent message from an earlier run this one retries (services.runs.
    retry_run, followed back through `parent_run_id`) is not sent to again: a retry after a partial
    failure completes the sending rather than repeating it."""
    previous, earlier = _previous(run)
    pairs, view = [], []
    new = []  # this attempt's new rows: inserted with the `sending` mark (executor.begin_external)
    for item in outgoing:
        key = item.recipient.address.lower()
        done = earlier.get(key)
        if done is not None:  # sent by an earlier run of this retry chain: shown, not sent again
            view.append({"to": done.recipient, "role": done.recipient_role, "language": done.language,
                         "message_id": done.message_id, "status": "sent", "sent_by_run": done.run_id})
            continue
        row = previous.get(key)
        if row is None:
            row = OutgoingEmail(run_id=run.id, opportunity_id=run.opportunity_id, kind=run.kind,
                                message_id=new_message_id(cred.from_address), status="sending")
            new.append(row)
        if row.status != "sent":
            rcpt, letter = item.recipient, item.letter
            row.template_name, row.recipient, row.recipient_name = template_name, rcpt.address, rcpt.name
            row.recipient_role, row.language, row.subject = rcpt.role, letter.language, letter.subject
            row.credentials_name, row.sender = cred.name, cred.from_address
            row.attachments = [{"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
                               for a in letter.attachments]
            row.status, row.error = "sending", None
        pairs.append((row, item, len(view)))
        view.append({"to": row.recipient, "role": row.recipient_role, "language": row.language,
                     "message_id": row.message_id, "status": row.status})
    result = {**_summary(cred, template_name, view), **(extra or {})}

    todo = []  # (row, view entry, message, its bytes): each message built and serialised once
    try:
        sender = sender_of(cred)
        for row, item, index in pairs:
            if row.status != "sent":
                msg = build(sender, item.letter, row.message_id)
                data = encode(msg)
                row.size = check_size(msg, data)
                todo.append((row, view[index], msg, data))
    except PermanentError as err:
        _failed([(row, view[index]) for row, _item, index in pairs if row.status != "sent"], str(err))
        db.session.add_all(new)
        executor.checkpoint(run, result=result)
        raise
    if not todo:
        return result
    if dry_run.active() is not None:  # built and checked like the real ones; kept, not sent
        db.session.add_all(new)
        for _row, entry, _msg, _data in todo:
            entry["status"] = "dry_run"
        dry_run.note_letters(run, [item.letter for _row, item, _i in pairs if _row.status != "sent"])
        return result

    conn = Connection(sender)
    conn.open_soon()  # greeting, EHLO, TLS and login while the mark is committed: nothing is sent before it
    try:
        executor.begin_external(run, new, result=result)
        sent = 0
        try:
            conn.opened()
            for row, entry, msg, data in todo:
                conn.send(msg, entry["to"], data)
                sent += 1
                entry["status"] = "sent"
                if sent < len(todo):
                    row.status, row.sent_at = "sent", utcnow()
                    executor.checkpoint(run, result=result)
                else:  # the last one is committed with the run's outcome, in its statement where it can be
                    _mark_sent_with_outcome(row)
        except (TransientError, PermanentError) as err:
            _failed([(row, entry) for row, entry, _m, _d in todo[sent:]], str(err))
            executor.checkpoint(run, result=result)
            raise
    finally:
        conn.close_soon()
    return result


def _mark_sent_with_outcome(row: OutgoingEmail) -> None:
    """`row` sent, written with the run's success (executor.with_outcome) rather than flushed on its own;
    the session's object says so too, without a write of its own."""
    now = utcnow()
    set_committed_value(row, "status", "sent")
    set_committed_value(row, "sent_at", now)
    executor.with_outcome(_SENT, {"o_id": row.id, "o_sent_at": now}, row)


def _previous(run: ActionRun) -> tuple[dict[str, OutgoingEmail], dict[str, OutgoingEmail]]:
    """By lower-cased address: this run's messages from its earlier attempts (their Message-IDs are
    reused), and the messages earlier runs of its retry chain sent. A first attempt of a run that
    retries nothing has neither, and asks the database nothing."""
    earlier_runs = _retried_runs(run)
    if run.attempts <= 1 and not earlier_runs:
        return {}, {}
    stmt = select(OutgoingEmail).where(OutgoingEmail.message_id.is_not(None))
    if earlier_runs:
        stmt = stmt.where(or_(OutgoingEmail.run_id == run.id,
                              and_(OutgoingEmail.run_id.in_(earlier_runs), OutgoingEmail.status == "sent")))
    else:
        stmt = stmt.where(OutgoingEmail.run_id == run.id)
    own, earlier = {}, {}
    for row in db.session.execute(stmt.order_by(OutgoingEmail.id)).scalars():
        (own if row.run_id == run.id else earlier)[row.recipient.lower()] = row
    return own, earlier


# Kinds whose retry completes the sending instead of repeating it. Not e-signature: its retry makes a new
# signature request, and the signer needs the email with the new link even if the old one arrived.
_RETRY_COMPLETES = frozenset({"send_email"})


def _retried_runs(run: ActionRun) -> list[int]:
    """The runs this one retries, newest first: a retry's parent is the run it retries, and so on back."""
    ids, current = [], run
    if run.kind not in _RETRY_COMPLETES:
        return ids
    while current is not None and current.trigger == "retry" and current.parent_run_id \
            and current.parent_run_id not in ids and len(ids) < 100:
        ids.append(current.parent_run_id)
        current = db.session.get(ActionRun, current.parent_run_id)
    return ids


def _failed(unsent: list[tuple[OutgoingEmail, dict]], error: str) -> None:
    for row, entry in unsent:
        entry["status"] = "failed"
        row.status, row.error = "failed", error


def check_credentials(cred_id) -> SmtpCredential:
    """The action's SMTP credentials, or a PermanentError when they were deleted."""
    cred = db.session.get(SmtpCredential, cred_id or 0)
    if cred is None:
        raise PermanentError(_("The SMTP credentials of this action no longer exist."))
    return cred
