"""Outbound webhooks (issue 13 part 5; docs/webhooks.md): the engine's subscriber to the domain events that
writes one delivery per matching active subscription in the event's own transaction, and the RQ job that
sends it — claimed with a conditional update and a lease like an action run, retried with backoff by the
sweeper (engine.dispatch), signed as the inbound hooks verify (services.webhooks.signature)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import ssl
import time
import uuid
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select

from engine import dispatch, webhook_subscriptions
from extensions import db
from models import WebhookDelivery, WebhookSubscription
from models.base import utcnow
from models.webhooks import PING
from services import ServiceError, events
from services import secrets as secret_store
from services.url_guard import Target, UrlRefused, check
from services.webhooks import signature

log = logging.getLogger("oppflow.webhooks_out")
EXCERPT_BYTES = 4096  # read at most this much of an answer: a receiver cannot make us download more
_HOST = socket.gethostname()

# --- events -> deliveries, in the event's transaction -------------------------------------------------------


def _opp(opp) -> dict | None:
    return {"id": opp.id, "name": opp.name} if opp is not None else None


def _user(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def _substate(opp, change) -> dict:
    sub = change.substate
    return {"opportunity": _opp(opp), "user": _user(change.user),
            "substate": {"id": sub.id, "name": sub.name, "state": {"id": sub.state.id, "name": sub.state.name}}}


def _run(run, change) -> dict:
    return {"run": {"id": run.id, "kind": run.kind, "status": change.status, "trigger": run.trigger,
                    "attempts": run.attempts, "action_id": run.action_id, "substate_id": run.substate_id,
                    "error": change.error},
            "opportunity": _opp(run.opportunity)}


def _task(task, change) -> dict:
    return {"task": {"id": task.id, "title": task.title, "status": change.new_status,
                     "substate_id": task.substate_id},
            "old_status": change.old_status, "new_status": change.new_status,
            "opportunity": _opp(task.opportunity), "user": _user(change.user)}


def _assignment(assignment, change) -> dict:
    return {"assignment": {"id": assignment.id, "status": assignment.status,
                           "partner_kind": assignment.partner_kind, "reason": assignment.reason},
            "company": {"id": assignment.company.id, "name": assignment.company.name},
            "opportunity": _opp(change.opportunity), "user": _user(change.user)}


# signal -> (event type, data builder)
_SIGNALS = [
    (events.substate_opened, "substate.opened", _substate),
    (events.substate_closed, "substate.closed", _substate),
    (events.run_succeeded, "run.succeeded", _run),
    (events.run_failed, "run.failed", _run),
    (events.task_status_changed, "task.status_changed", _task),
    (events.assignment_accepted, "assignment.accepted", _assignment),
    (events.assignment_rejected, "assignment.rejected", _assignment),
]
_receivers = []


def _receiver(event_type: str, build):
    def receive(sender, change, **_kw) -> None:
        subscribers = _subscribers(event_type)
        if subscribers:  # build the payload (and load what it names) only when someone listens
            record(event_type, build(sender, change), change.at, subscribers)
    return receive


def subscribe() -> None:
    """Listen to the domain events webhooks can carry (called by create_app; connecting twice is harmless)."""
    if not _receivers:
        _receivers.extend(_receiver(t, b) for _s, t, b in _SIGNALS)
    for (signal, _t, _b), receive in zip(_SIGNALS, _receivers, strict=True):
        signal.connect(receive, weak=False)


def _subscribers(event_type: str) -> list[int]:
    """The active subscriptions to this event type (a small table: filtered here, the JSON list needs no
    backend-specific operator), from the per-process cache (engine.webhook_subscriptions)."""
    return [sid for sid, chosen in webhook_subscriptions.active() if event_type in chosen]


def _envelope(event_type: str, data: dict, at: datetime) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex}", "type": event_type,
            "created_at": at.replace(microsecond=at.microsecond // 1000 * 1000).isoformat() + "Z", "data": data}


def record(event_type: str, data: dict, at: datetime, subscription_ids: list[int]) -> list[WebhookDelivery]:
    """One pending delivery per subscription, in the caller's transaction; sent once it commits."""
    payload = _envelope(event_type, data, at)
    now = utcnow()
    rows = [WebhookDelivery(subscription_id=sid, key=uuid.uuid4().hex, event_id=payload["id"],
                            event_type=event_type, payload=payload, status="pending", attempts=0, due_at=now,
                            created_at=now)
            for sid in subscription_ids]
    db.session.add_all(rows)
    db.session.flush()
    dispatch.enqueue_deliveries_after_commit(rows)
    return rows


def ping(subscription: WebhookSubscription) -> WebhookDelivery:
    """A test event to this subscription (active or not: the person asked for it)."""
    data = {"subscription": {"id": subscription.id, "name": subscription.name},
            "message": "Test event from oppflow"}
    return record(PING, data, utcnow(), [subscription.id])[0]


def redeliver(original: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again as a new log row with the same idempotency key and payload (fresh timestamp
    and signature): a receiver that already has it recognises it by X-Oppflow-Delivery."""
    now = utcnow()
    row = WebhookDelivery(subscription_id=original.subscription_id, key=original.key, event_id=original.event_id,
                          event_type=original.event_type, payload=original.payload, status="pending",
                          attempts=0, due_at=now, created_at=now, redelivery_of_id=original.id)
    db.session.add(row)
    db.session.flush()
    dispatch.enqueue_deliveries_after_commit([row])
    return row


# --- the sweeper's share -------------------------------------------------------------------------------------

_T = WebhookDelivery


def due_deliveries(now: datetime, grace: timedelta, batch: int, lost) -> list[WebhookDelivery]:
    """Deliveries to put on the queue: due and never enqueued (a retry's backoff ran out), held by a worker
    whose lease ran out, or enqueued long ago with a job Redis no longer has (`lost` asks Redis)."""
    due = and_(_T.status == "pending", _T.due_at <= now)
    never_sent = db.session.execute(select(_T).where(due, _T.enqueued_at.is_(None))
                                    .order_by(_T.due_at, _T.id).limit(batch)).scalars().all()
    expired = db.session.execute(select(_T).where(_T.status == "sending", _T.lease_until < now)
                                 .limit(batch)).scalars().all()
    long_ago = db.session.execute(select(_T).where(due, _T.enqueued_at < now - grace).limit(batch)).scalars().all()
    return never_sent + expired + lost(long_ago)


# --- the job ---------------------------------------------------------------------------------------------------

_table = WebhookDelivery.__table__
_CLAIM = (
    _table.update()
    .where(_table.c.id == bindparam("delivery_id"),
           or_(and_(_table.c.status == "pending", _table.c.due_at <= bindparam("now")),
               and_(_table.c.status == "sending", _table.c.lease_until < bindparam("now"))))
    .values(status="sending", claimed_by=bindparam("token"), lease_until=bindparam("lease_until"),
            last_attempt_at=bindparam("now"), attempts=_table.c.attempts + 1)
)


def waits() -> list[float]:
    """The waits between attempts (WEBHOOK_BACKOFF): attempts in all = waits + 1."""
    raw = str(current_app.config.get("WEBHOOK_BACKOFF", "30,120,600,3600,21600"))
    return [float(p) for p in raw.split(",") if p.strip()]


def _claim(delivery_id: int) -> str | None:
    now = utcnow()
    token = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = now + timedelta(seconds=current_app.config.get("WEBHOOK_LEASE_SECONDS", 60))
    taken = db.session.execute(_CLAIM, {"delivery_id": delivery_id, "now": now, "token": token,
                                        "lease_until": lease}).rowcount
    db.session.commit()
    return token if taken == 1 else None


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked; the Host header still names the host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As _PinnedHTTP, with TLS: SNI and the certificate check use the host name, not the address."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _post(target: Target, headers: dict, body: bytes, timeout: float) -> tuple[int, str]:
    """POST once, never following a redirect; (status code, the first EXCERPT_BYTES of the answer)."""
    conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        excerpt = response.read(EXCERPT_BYTES)
        return response.status, excerpt.decode("utf-8", errors="replace")
    finally:
        conn.close()


def _fenced(delivery_id: int, token: str, **values) -> bool:
    stmt = (_table.update().where(_table.c.id == delivery_id, _table.c.claimed_by == token,
                                  _table.c.status == "sending").values(lease_until=None, **values))
    done = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return done


def _allowed_hosts() -> set[str]:
    from services.outbound_webhooks import allowed_hosts

    return allowed_hosts()


def deliver(delivery_id: int) -> str:
    """Claim the delivery, POST it signed, record the answer: 2xx delivered, else retried after the next
    wait, or failed after the last attempt."""
    token = _claim(delivery_id)
    if token is None:
        return "not claimed"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its subscription was deleted meanwhile (the log goes with it)
        return "gone"
    sub = delivery.subscription
    code = duration = excerpt = None
    error, retry = None, True
    started = time.perf_counter()
    try:
        if not sub.active and delivery.event_type != PING:
            raise UrlRefused(_("The subscription is switched off."))
        target = check(sub.url, _allowed_hosts())
        secret = secret_store.decrypt(sub.secret_encrypted)
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "User-Agent": "oppflow-webhooks/1",
                   "X-Oppflow-Event": delivery.event_type, "X-Oppflow-Delivery": delivery.key,
                   "X-Oppflow-Timestamp": str(stamp), "X-Oppflow-Signature": signature(secret, stamp, body)}
        started = time.perf_counter()
        code, excerpt = _post(target, headers, body, current_app.config.get("WEBHOOK_TIMEOUT", 5))
        duration = round((time.perf_counter() - started) * 1000)
        if not 200 <= code < 300:
            error = _("The receiver answered HTTP %(code)d.", code=code)
    except UrlRefused as err:
        error, retry = err.message, err.retry
    except ServiceError as err:  # the secret cannot be decrypted: no retry helps until a person acts
        error, retry = err.message, False
    except (OSError, http.client.HTTPException) as err:  # refused, reset, timed out, TLS, malformed answer
        duration = round((time.perf_counter() - started) * 1000)
        error = f"{type(err).__name__}: {err}"[:500]
    values = {"status_code": code, "duration_ms": duration, "response_excerpt": excerpt, "error": error}
    if error is None:
        _fenced(delivery_id, token, status="delivered", finished_at=utcnow(), **values)
        return "delivered"
    steps = waits()
    if retry and delivery.attempts <= len(steps):
        due = utcnow() + timedelta(seconds=steps[delivery.attempts - 1])
        _fenced(delivery_id, token, status="pending", due_at=due, enqueued_at=None, job_id=None, **values)
        return "retry"
    _fenced(delivery_id, token, status="failed", finished_at=utcnow(), **values)
    return "failed"
