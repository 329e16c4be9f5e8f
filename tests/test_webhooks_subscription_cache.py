"""The active webhook subscriptions are cached per process (engine/webhook_subscriptions.py, issue 16): an event
costs no SELECT while nothing changed, and a subscription saved, switched off or deleted — in this process or
in another one (a worker, the web app) — is what the next event sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select

from engine import webhook_subscriptions as cache
from extensions import db
from models import WebhookSubscription
from services import outbound_webhooks as svc

ROOT = Path(__file__).resolve().parent.parent


def _selects(fn) -> tuple[object, int]:
    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        return fn(), len(seen)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _create(name: str, events: list[str], active: bool = True) -> WebhookSubscription:
    svc.save_allowed_hosts("127.0.0.1")
    sub, _secret = svc.create(svc.SubscriptionData(name, "http://127.0.0.1:9/hook", events, active))
    db.session.commit()
    return sub


def test_an_unchanged_list_costs_no_select(app):
    sub = _create("One", ["run.succeeded"])
    first, selects = _selects(cache.active)
    assert first == [(sub.id, ["run.succeeded"])] and selects == 1
    again, selects = _selects(cache.active)
    assert again == first and selects == 0


def test_saved_switched_off_and_deleted_subscriptions_are_seen_at_once(app):
    assert cache.active() == []
    sub = _create("One", ["run.succeeded"])
    assert cache.active() == [(sub.id, ["run.succeeded"])]
    svc.update(sub, svc.SubscriptionData("One", sub.url, ["run.failed", "task.status_changed"], True))
    db.session.commit()
    assert cache.active() == [(sub.id, ["run.failed", "task.status_changed"])]
    svc.update(sub, svc.SubscriptionData("One", sub.url, ["run.failed"], False))
    db.session.commit()
    assert cache.active() == []
    svc.update(sub, svc.SubscriptionData("One", sub.url, ["run.failed"], True))
    db.session.commit()
    assert cache.active() == [(sub.id, ["run.failed"])]
    svc.delete(sub)
    db.session.commit()
    assert cache.active() == []


def test_a_change_rolled_back_is_not_kept(app):
    sub = _create("One", ["run.succeeded"])
    assert cache.active() == [(sub.id, ["run.succeeded"])]
    sub.active = False
    db.session.flush()
    assert cache.active() == []  # this transaction's own view
    db.session.rollback()
    assert cache.active() == [(sub.id, ["run.succeeded"])]


def test_a_table_emptied_in_bulk_is_seen(app):
    _create("One", ["run.succeeded"])
    assert len(cache.active()) == 1
    db.session.execute(WebhookSubscription.__table__.delete())
    db.session.commit()
    assert cache.active() == []


def test_a_subscription_saved_by_another_process_is_seen(app):
    """The web app saves, a worker announces: the worker's cached list must not hide the new subscription."""
    assert cache.active() == []  # cached here: no subscription
    config = {key: current_app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY",
                                                        "ENCRYPTION_KEYS")}
    script = (
        "from app import create_app\nfrom extensions import db\nfrom services import outbound_webhooks as svc\n"
        f"app = create_app({config!r})\n"
        "with app.app_context():\n"
        "    svc.save_allowed_hosts('127.0.0.1')\n"
        "    svc.create(svc.SubscriptionData('Other', 'http://127.0.0.1:9/hook', ['task.status_changed'], True))\n"
        "    db.session.commit()\n"
    )
    db.session.commit()  # end this test's transaction: the other process's commit is then visible here
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    other = db.session.execute(select(WebhookSubscription.id)).scalar_one()
    assert cache.active() == [(other, ["task.status_changed"])]


def test_a_transaction_that_read_none_active_lists_none_until_it_ends(app):
    """The engine reads ANY_ACTIVE with each run: when it is false, the run's transaction lists no subscription
    without asking Redis (as the list stood when the transaction began); its next transaction sees one switched
    on meanwhile by another process."""
    sub = _create("Later", ["run.succeeded"], active=False)
    assert db.session.execute(select(cache.ANY_ACTIVE)).scalar() is False
    cache.none_active()
    with db.engine.begin() as other:  # another process switches it on, and bumps the version after its commit
        other.execute(WebhookSubscription.__table__.update().values(active=True))
    cache.forget()
    assert cache.active() == []
    db.session.commit()
    assert cache.active() == [(sub.id, ["run.succeeded"])]


def test_a_transaction_that_read_none_active_still_sees_its_own_change(app):
    assert db.session.execute(select(cache.ANY_ACTIVE)).scalar() is False
    cache.none_active()
    svc.save_allowed_hosts("127.0.0.1")
    sub, _secret = svc.create(svc.SubscriptionData("Now", "http://127.0.0.1:9/hook", ["run.failed"], True))
    db.session.flush()
    assert cache.active() == [(sub.id, ["run.failed"])]
