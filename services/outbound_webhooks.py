"""Settings → Webhooks (issue 13 part 5): subscriptions of URLs to domain events, their secrets (stored
encrypted, shown once), the hosts an admin allows despite the SSRF guard, and the delivery log."""

from __future__ import annotations

import re
import secrets as random
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import WebhookDelivery, WebhookSubscription
from models.webhooks import DELIVERY_STATUSES, WEBHOOK_EVENTS
from services import app_settings
from services import secrets as secret_store
from services.url_guard import UrlRefused, check, normalise_host
from services.validation import InvalidData

secret_store.register(WebhookSubscription, "secret_encrypted")
ALLOWED_HOSTS = "webhook_allowed_hosts"  # app setting: one host per line
MAX_ALLOWED_HOSTS = 50
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
PAGE = 25


@dataclass
class SubscriptionData:
    name: str
    url: str
    events: list[str] = field(default_factory=list)
    active: bool = True


def list_subscriptions() -> list[WebhookSubscription]:
    """Every subscription, by name."""
    return list(db.session.execute(select(WebhookSubscription)
                                   .order_by(WebhookSubscription.name, WebhookSubscription.id)).scalars())


def _new_secret() -> str:
    return "whsec_" + random.token_urlsafe(32)


def _validate(data: SubscriptionData) -> dict:
    errors = {}
    name = (data.name or "").strip()
    if not name or len(name) > 120:
        errors["name"] = _("Enter a name of at most 120 characters.")
    try:
        check(data.url, allowed_hosts())
    except UrlRefused as err:
        errors["url"] = err.message
    chosen = list(dict.fromkeys(data.events or []))
    if not chosen:
        errors["events"] = _("Choose at least one event.")
    elif set(chosen) - set(WEBHOOK_EVENTS):
        errors["events"] = _("Choose events from the list.")
    return errors


def _apply(sub: WebhookSubscription, data: SubscriptionData) -> None:
    sub.name, sub.url, sub.active = data.name.strip(), data.url.strip(), bool(data.active)
    sub.events = [e for e in WEBHOOK_EVENTS if e in set(data.events)]


def create(data: SubscriptionData) -> tuple[WebhookSubscription, str]:
    """A new subscription with a fresh secret; returns the plaintext secret, shown this once."""
    errors = _validate(data)
    if errors:
        raise InvalidData(errors)
    secret = _new_secret()
    sub = WebhookSubscription(secret_encrypted=secret_store.encrypt(secret))
    _apply(sub, data)
    db.session.add(sub)
    db.session.flush()
    return sub, secret


def update(sub: WebhookSubscription, data: SubscriptionData) -> WebhookSubscription:
    """Change a subscription's name, URL, events or switch (the secret stays)."""
    errors = _validate(data)
    if errors:
        raise InvalidData(errors)
    _apply(sub, data)
    db.session.flush()
    return sub


def rotate_secret(sub: WebhookSubscription) -> str:
    """A new secret for the subscription (deliveries from now on are signed with it); shown once."""
    secret = _new_secret()
    sub.secret_encrypted = secret_store.encrypt(secret)
    db.session.flush()
    return secret


def delete(sub: WebhookSubscription) -> None:
    """Delete a subscription and its delivery log."""
    db.session.delete(sub)
    db.session.flush()


def allowed_hosts() -> set[str]:
    """The hosts an admin allows to resolve to internal addresses."""
    return {h for h in (normalise_host(x) for x in app_settings.get(ALLOWED_HOSTS).splitlines()) if h}


def save_allowed_hosts(text: str) -> list[str]:
    """Store the allowlist (one host name or IP address per line; blank lines ignored)."""
    hosts = []
    for line in (text or "").splitlines():
        host = normalise_host(line)
        if not host:
            continue
        if not (_HOST.match(host) or _is_ip(host)):
            raise InvalidData({"hosts": _("“%(host)s” is not a host name or IP address (write only the host, "
                                          "without http:// or a path).", host=line.strip()[:80])})
        if host not in hosts:
            hosts.append(host)
    if len(hosts) > MAX_ALLOWED_HOSTS:
        raise InvalidData({"hosts": _("At most %(max)d hosts.", max=MAX_ALLOWED_HOSTS)})
    app_settings.put(ALLOWED_HOSTS, "\n".join(hosts))
    return hosts


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def deliveries(sub: WebhookSubscription, status: str = "", before: int | None = None,
               limit: int = PAGE) -> tuple[list[WebhookDelivery], int | None]:
    """A page of the subscription's log, newest first (keyset on id), optionally of one status; with the id
    to continue before, None on the last page."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    if status in DELIVERY_STATUSES:
        stmt = stmt.where(WebhookDelivery.status == status)
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    rows = list(db.session.execute(stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).scalars())
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged delivery again, with the same idempotency key; sent after the caller commits."""
    from engine import webhooks_out

    return webhooks_out.redeliver(delivery)


def send_test(sub: WebhookSubscription) -> WebhookDelivery:
    """Send a ping event to the subscription; sent after the caller commits."""
    from engine import webhooks_out

    return webhooks_out.ping(sub)
