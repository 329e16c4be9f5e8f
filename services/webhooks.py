"""Inbound external-source events (SPEC P4, T1, A8): POST /hooks/<source>, signed with the source's secret.

The signature is HMAC-SHA256 over "<timestamp>.<body>" with the source's secret, sent as
`X-Oppflow-Signature: sha256=<hex>` beside `X-Oppflow-Timestamp: <unix seconds>`. A request older or newer
than WEBHOOK_TOLERANCE seconds (300) is refused, so a captured request cannot be sent again later; within
that window each event id (else each signature) is accepted once, remembered in Redis for twice the window.
Answers are small JSON bodies: 200 done, 400 unreadable, 401 bad or stale signature, 404 unknown source,
409 replay or already completed, 413 body over WEBHOOK_MAX_BYTES, 422 unknown event, reference or
opportunity, 503 Redis unreachable — never a 500. The simulator provider calls `handle` too, so a simulated
signature takes exactly this path.

Besides the signature events (which name their opportunity through the signature request's `reference`),
any event `{"id", "type", "opportunity_id", "data"}` is accepted for an existing opportunity: both kinds send
`events.external_event_received`, which external-event triggers listen to (docs/webhooks-inbound.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import select

from engine import dispatch
from extensions import db
from models import ActionRun, ExternalSource, ExternalSourceAction, Opportunity, SignatureRequest
from models.base import utcnow
from services import ServiceError, events
from services import secrets as secret_store
from services.events import Chain

log = logging.getLogger("oppflow.webhooks")
TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Oppflow-Timestamp", "X-Oppflow-Signature"
SIGNATURE_EVENTS = ("signature.signed", "signature.declined")
TYPE_MAX, ID_MAX = 100, 200


@dataclass
class Answer:
    status: int
    body: dict
    replay_key: str | None = field(default=None, repr=False)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The header value for a body sent at `timestamp` with `secret`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def sign_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers a provider sends with `body` (used by the simulator and by tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body),
            "Content-Type": "application/json"}


def secret_of(source_name: str) -> str | None:
    """The plaintext secret of a source, for the code that signs or verifies with it."""
    source = _source(source_name)
    return secret_store.decrypt(source.secret_encrypted) if source else None


def _source(name: str) -> ExternalSource | None:
    return db.session.execute(select(ExternalSource).where(ExternalSource.name == name)).scalar_one_or_none()


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"ok": False, "error": message})


def verify(source: ExternalSource, headers, body: bytes) -> Answer | None:
    """None when the request is signed by the source and fresh; else the refusal."""
    stamp, given = headers.get(TIMESTAMP_HEADER, ""), headers.get(SIGNATURE_HEADER, "")
    try:
        sent_at = int(stamp)
    except ValueError:
        return _error(401, _("Missing or invalid timestamp."))
    if abs(time.time() - sent_at) > current_app.config.get("WEBHOOK_TOLERANCE", 300):
        return _error(401, _("The timestamp is too far from now."))
    try:
        secret = secret_store.decrypt(source.secret_encrypted)
    except ServiceError:
        log.error("external source %s: its secret cannot be decrypted", source.name)
        return _error(401, _("Invalid signature."))
    if not hmac.compare_digest(signature(secret, stamp, body), given.strip()):
        return _error(401, _("Invalid signature."))
    return None


def _first_time(source: ExternalSource, key: str) -> bool:
    """Remember the event; False when it was seen within the replay window."""
    ttl = 2 * int(current_app.config.get("WEBHOOK_TOLERANCE", 300)) + 60
    return bool(dispatch.redis_conn().set(f"oppflow:hook:{source.id}:{key}", 1, nx=True, ex=ttl))


def receive(source_name: str, headers, body: bytes) -> Answer:
    """Check and apply one inbound event; the caller commits (or `handle` does)."""
    source = _source(source_name) if len(source_name) <= 60 else None
    if source is None:
        return _error(404, _("Unknown source."))
    if len(body) > current_app.config.get("WEBHOOK_MAX_BYTES", 65536):
        return _error(413, _("The body is too large."))
    refused = verify(source, headers, body)
    if refused:
        return refused
    try:
        event = json.loads(body)
        assert isinstance(event, dict)
    except (ValueError, AssertionError, RecursionError):  # nesting deeper than Python's stack is unreadable too
        return _error(400, _("The body is not a JSON object."))
    key = hashlib.sha256(str(event.get("id") or headers.get(SIGNATURE_HEADER)).encode()).hexdigest()
    try:
        if not _first_time(source, key):
            return _error(409, _("This event was already received."))
    except RedisError:
        return _error(503, _("Temporarily unavailable, send again later."))
    replay_key = f"oppflow:hook:{source.id}:{key}"
    try:
        answer = _apply(source, event)
    except Exception:
        _forget(replay_key)
        raise
    answer.replay_key = replay_key
    return answer


def _forget(replay_key: str | None) -> None:
    """Let the sender's retry in after we failed to apply its event."""
    if replay_key:
        try:
            dispatch.redis_conn().delete(replay_key)
        except RedisError:
            pass


def _apply(source: ExternalSource, event: dict) -> Answer:
    kind = event.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > TYPE_MAX or kind != kind.strip():
        return _error(422, _("Unknown event type."))
    if kind not in SIGNATURE_EVENTS:
        return _apply_generic(source, kind, event)
    outcome = kind.split(".", 1)[1]
    request = db.session.execute(
        select(SignatureRequest).where(SignatureRequest.reference == str(event.get("reference") or ""),
                                       SignatureRequest.source_name == source.name)
    ).scalar_one_or_none()
    if request is None:
        return _error(422, _("Unknown signature request."))
    if request.status not in ("sending", "sent"):
        return _error(409, _("This signature request is already completed."))
    request.status = outcome
    run = run_external_action(source, outcome, request)
    announce(source, kind, event, db.session.get(Opportunity, request.opportunity_id))
    return Answer(200, {"ok": True, "status": outcome, "run_id": run.id if run else None})


def _opportunity_named(event: dict) -> Opportunity | None:
    """The opportunity a generic event names by `opportunity_id` (a number, or digits in a string)."""
    ref = event.get("opportunity_id")
    if isinstance(ref, str) and ref.isdigit() and len(ref) <= 18:
        ref = int(ref)
    if isinstance(ref, bool) or not isinstance(ref, int) or not 0 < ref < 2**63:
        return None
    return db.session.get(Opportunity, ref)


def _apply_generic(source: ExternalSource, kind: str, event: dict) -> Answer:
    """Any other event type: its opportunity's external-event triggers decide what it does."""
    event_id = event.get("id")
    if event_id is not None and (isinstance(event_id, bool) or not isinstance(event_id, str | int)
                                 or len(str(event_id)) > ID_MAX):
        return _error(422, _("The event id must be a string of at most %(max)d characters.", max=ID_MAX))
    if not isinstance(event.get("data", {}), dict):
        return _error(422, _("The event's data must be a JSON object."))
    opp = _opportunity_named(event)
    if opp is None:
        return _error(422, _("Unknown opportunity."))
    fired = announce(source, kind, event, opp)
    return Answer(200, {"ok": True, "type": kind, "opportunity_id": opp.id,
                        "runs": [{"id": run.id, "status": run.status} for run in fired]})


def announce(source: ExternalSource, kind: str, event: dict, opp: Opportunity) -> list[ActionRun]:
    """Send external_event_received for the opportunity in this transaction; the runs it caused (the
    triggers' firings) are returned — each a new chain's first run."""
    chain = Chain()
    events.external_event_received.send(opp, event=events.ExternalEvent(
        source=source.name, type=kind, payload=event, received_at=utcnow(),
        event_id=str(event.get("id") or ""), chain=chain))
    return list(db.session.execute(select(ActionRun).where(ActionRun.chain_id == chain.id, ActionRun.chain_depth == 0)
                                   .order_by(ActionRun.id)).scalars())


def run_external_action(source: ExternalSource, event: str, request: SignatureRequest) -> ActionRun | None:
    """Apply the request's external-source action for this event through services.substates, recorded as a
    run with trigger 'external' whose chain the opened and closed substates' own runs join."""
    from services.substates import close_substate, open_substate

    action = db.session.get(ExternalSourceAction, request.external_action_id or 0)
    if action is None or action.event != event:
        return None
    opp = db.session.get(Opportunity, request.opportunity_id)
    now = utcnow()
    record = ActionRun(opportunity_id=opp.id, kind="external_source", trigger="external", status="running",
                       config={"external_action_id": action.id, "name": action.name, "event": event,
                               "actions": list(action.actions or [])},
                       due_at=now, started_at=now, chain_id=uuid.uuid4().hex, chain_depth=0, attempts=1,
                       has_next=False, result={})
    db.session.add(record)
    db.session.flush()
    chain, steps = Chain.from_run(record), []
    for step in action.actions or []:
        change = open_substate if step.get("op") == "open" else close_substate
        try:  # the service checks before it writes: a refusal leaves nothing behind
            change(opp, step.get("substate_id"), None, chain)
            steps.append({**step, "status": "done"})
        except ServiceError as err:
            steps.append({**step, "status": "skipped", "reason": err.message})
    record.status, record.finished_at = "succeeded", utcnow()
    record.result = {"source": source.name, "event": event, "signature_request_id": request.id, "steps": steps}
    return record


def handle(source_name: str, headers, body: bytes) -> Answer:
    """Receive and commit one event; never raises (a database error answers 503 and forgets the event
    so that the provider's retry is accepted)."""
    answer = None
    try:
        answer = receive(source_name, headers, body)
        if answer.status == 200:
            db.session.commit()
        else:  # only applied events count as seen: a refused one may be sent again once it can apply
            db.session.rollback()
            _forget(answer.replay_key)
        return answer
    except Exception:  # noqa: BLE001 - the sender gets a JSON answer and retries; the log keeps the cause
        log.exception("webhook %s failed", source_name)
        db.session.rollback()
        _forget(answer.replay_key if answer is not None else None)
        return _error(503, _("Temporarily unavailable, send again later."))
