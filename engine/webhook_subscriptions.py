"""The active webhook subscriptions, cached per process (issue 16): every finished run and every substate change
asks engine.webhooks_out which subscriptions listen, and the answer changes only when a person saves or
deletes a subscription. So each process keeps the list it read, tagged with a version counter kept in Redis;
any change to the table — through the ORM (services.outbound_webhooks) or a bulk statement through the
session — bumps the counter once its transaction commits, and every process (web, workers) reads the list
again in its next transaction. Asking Redis for the counter is one GET per transaction, not a SELECT per event;
and none at all in an engine run's transaction when no subscription is active: the run is read with ANY_ACTIVE
(engine.executor), and none_active() says so for the rest of that transaction.

Correct across processes: the counter is read before the list, so a change committed meanwhile leaves the
cached list under an older version, read again next time. Without Redis (or when it fails) the list is read
from the database each time, as before. A change made outside the app (plain SQL) is seen within MAX_AGE."""

from __future__ import annotations

import hashlib
import logging
import time

from flask import current_app
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from extensions import db
from models import WebhookSubscription

log = logging.getLogger("oppflow.webhooks_out")
MAX_AGE = 60.0  # seconds: a change made behind the app's back is picked up by then
_CHANGED = "webhook_subscriptions_changed"
_VERSION = "webhook_subscriptions_version"  # the counter as this transaction first read it
_NONE = "webhook_subscriptions_none"  # this transaction read that no subscription is active (none_active)
_TABLE = WebhookSubscription.__table__


def _key(app) -> str:
    """The counter's Redis key, one per database (tests and benches share a Redis between databases); made
    once per app, as it is asked for by every run."""
    key = app.extensions.get("oppflow_webhook_subscriptions_key")
    if key is None:
        url = db.engine.url.render_as_string(hide_password=True)
        key = app.extensions["oppflow_webhook_subscriptions_key"] = \
            f"oppflow:webhook_subscriptions:{hashlib.sha1(url.encode()).hexdigest()[:16]}"
    return key


def _version(app) -> int | None:
    from engine.dispatch import redis_conn

    try:
        return int(redis_conn(app).get(_key(app)) or 0)
    except Exception as err:  # Redis down: no cache, the database answers
        log.warning("webhook subscriptions version unavailable: %s", err)
        return None


# Whether any subscription is active, as a column a statement can carry (the engine reads it with each run).
ANY_ACTIVE = exists(select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True))).label(
    "any_webhook_subscription")


def none_active() -> None:
    """The caller read ANY_ACTIVE as false in the session's current transaction: until it ends, active() answers
    [] without asking Redis (unless the session changes the subscriptions meanwhile)."""
    db.session().info[_NONE] = True


def active() -> list[tuple[int, list]]:
    """(id, events) of every active subscription: from this process's cache when the version still holds."""
    session = db.session()
    if session.info.get(_NONE) and not session.info.get(_CHANGED):
        return []
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("oppflow_webhook_subscriptions", {})
    # Read once per transaction: a dry run or a bulk run-now announces dozens of events in one, and a
    # transaction's events all see the list as it stood when it began (as its SELECT would).
    version = session.info.get(_VERSION)
    if version is None:
        version = session.info[_VERSION] = _version(app)
    # Uncommitted changes in this session: only its own SELECT sees them (and they may roll back).
    fresh = version is not None and not session.info.get(_CHANGED)
    if fresh and cache.get("version") == version and time.monotonic() - cache.get("at", 0) < MAX_AGE:
        return cache["rows"]
    rows = [(sid, list(chosen or [])) for sid, chosen in session.execute(
        select(WebhookSubscription.id, WebhookSubscription.events).where(WebhookSubscription.active.is_(True)))]
    if fresh:
        cache.update(version=version, rows=rows, at=time.monotonic())
    return rows


def forget(app=None) -> None:
    """Drop this process's list and bump the counter, so that every process reads the list again."""
    from engine.dispatch import redis_conn

    app = app or current_app._get_current_object()
    app.extensions.pop("oppflow_webhook_subscriptions", None)
    try:
        redis_conn(app).incr(_key(app))
    except Exception as err:  # the others then see the change within MAX_AGE
        log.warning("webhook subscriptions version not bumped: %s", err)


# --- what marks the table changed -----------------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _flushed(session, _context, _instances) -> None:
    if any(isinstance(obj, WebhookSubscription) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    """A bulk UPDATE/DELETE/INSERT through the session (e.g. a table emptied) changes the list as well."""
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete or state.is_insert) and getattr(table, "name", None) == _TABLE.name:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session, transaction) -> None:
    if transaction.parent is None:  # the next transaction asks Redis again
        session.info.pop(_VERSION, None)
        session.info.pop(_NONE, None)


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    if session.info.pop(_CHANGED, None):
        try:
            forget()
        except RuntimeError:  # no app context: nothing is cached outside one
            pass


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    session.info.pop(_CHANGED, None)
