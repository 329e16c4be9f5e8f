"""Settings → Webhooks: subscribing with every refusal (4xx, words, nothing saved), the SSRF guard and its
allowlist, secrets encrypted and shown once, the delivery log's figures, and access by role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AppSetting, WebhookDelivery, WebhookSubscription
from services import outbound_webhooks as svc
from services import secrets as secret_store
from services.url_guard import forbidden
from tests.webhook_support import seed_webhook

PUBLIC = "https://93.184.215.14/hooks/oppflow"  # an IP literal: no DNS needed to check it


def form(**changes) -> dict:
    data = {"name": "ERP", "url": PUBLIC, "events": ["substate.opened", "run.failed"], "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def count(model=WebhookSubscription) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_subscribe_shows_the_secret_once_and_stores_it_encrypted(client, admin):
    response = client.post("/settings/webhooks/new", data=form())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    sub = db.session.execute(select(WebhookSubscription)).scalar_one()
    secret = secret_store.decrypt(sub.secret_encrypted)
    assert secret.startswith("whsec_") and secret in page
    assert secret not in sub.secret_encrypted  # encrypted at rest
    assert (sub.name, sub.url, sub.events, sub.active) == ("ERP", PUBLIC, ["substate.opened", "run.failed"], True)
    assert secret not in client.get("/settings/webhooks").get_data(as_text=True)
    assert secret not in client.get(f"/settings/webhooks/{sub.id}").get_data(as_text=True)


def test_rotate_secret_shows_the_new_one_once(client, admin):
    sub, _ = seed_webhook()
    old = secret_store.decrypt(sub.secret_encrypted)
    response = client.post(f"/settings/webhooks/{sub.id}/secret")
    db.session.expire_all()
    new = secret_store.decrypt(sub.secret_encrypted)
    assert response.status_code == 200 and new != old and new in response.get_data(as_text=True)


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "Enter a name"),
    ({"name": "x" * 121}, "Enter a name"),
    ({"events": None}, "Choose at least one event"),
    ({"events": ["substate.opened", "everything"]}, "Choose events from the list"),
    ({"url": ""}, "Enter the URL"),
    ({"url": "ftp://93.184.215.14/x"}, "Only http:// and https://"),
    ({"url": "file:///etc/passwd"}, "Only http:// and https://"),
    ({"url": "javascript:alert(1)"}, "Only http:// and https://"),
    ({"url": "https://user:pw@93.184.215.14/x"}, "user name or password"),
    ({"url": "https://user@93.184.215.14/x"}, "user name or password"),
    ({"url": "https://93.184.215.14:99999/x"}, "not a valid URL"),
    ({"url": "https://exa mple.com/x"}, "spaces"),
    ({"url": "https://" + "a" * 2000 + ".com/"}, "too long"),
    ({"url": "https://no-such-host.invalid/x"}, "cannot be resolved"),
    ({"url": "http://localhost:8080/x"}, "internal address (127.0.0.1)"),
    ({"url": "http://127.0.0.1/x"}, "internal address"),
    ({"url": "http://127.1/x"}, "internal address"),
    ({"url": "http://2130706433/x"}, "internal address"),
    ({"url": "http://0.0.0.0/x"}, "internal address"),
    ({"url": "http://10.1.2.3/x"}, "internal address"),
    ({"url": "http://172.16.0.1/x"}, "internal address"),
    ({"url": "http://192.168.1.1/x"}, "internal address"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "internal address"),
    ({"url": "http://100.64.0.1/x"}, "internal address"),
    ({"url": "http://224.0.0.1/x"}, "internal address"),
    ({"url": "http://240.0.0.1/x"}, "internal address"),
    ({"url": "http://[::1]/x"}, "internal address"),
    ({"url": "http://[::]/x"}, "internal address"),
    ({"url": "http://[::ffff:127.0.0.1]/x"}, "internal address"),
    ({"url": "http://[::ffff:10.0.0.1]/x"}, "internal address"),
    ({"url": "http://[fe80::1]/x"}, "internal address"),
    ({"url": "http://[fc00::1]/x"}, "internal address"),
    ({"url": "http://[ff02::1]/x"}, "internal address"),
    ({"url": "http://[2002:7f00:1::]/x"}, "internal address"),
])
def test_refusals_say_why_and_save_nothing(client, admin, changes, message):
    response = client.post("/settings/webhooks/new", data=form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count() == 0


def test_edit_refuses_an_internal_url_and_keeps_the_old_one(client, admin):
    sub, _ = seed_webhook(url=PUBLIC)
    response = client.post(f"/settings/webhooks/{sub.id}", data=form(url="http://localhost/x", name="Changed"))
    assert response.status_code == 422
    db.session.expire_all()
    assert (sub.url, sub.name) == (PUBLIC, "Walked webhook")
    response = client.post(f"/settings/webhooks/{sub.id}", data=form(name="Changed", active=None))
    assert response.status_code == 302
    db.session.expire_all()
    assert (sub.name, sub.active) == ("Changed", False)


def test_an_allowed_host_may_be_internal(client, admin):
    assert client.post("/settings/webhooks/new", data=form(url="http://localhost:8080/x")).status_code == 422
    response = client.post("/settings/webhooks/allowed-hosts", data={"hosts": "LOCALHOST\n\n10.0.0.5\n"})
    assert response.status_code == 302
    assert svc.allowed_hosts() == {"localhost", "10.0.0.5"}
    assert client.post("/settings/webhooks/new", data=form(url="http://localhost:8080/x")).status_code == 200
    assert client.post("/settings/webhooks/new", data=form(url="http://10.0.0.5/x")).status_code == 200
    # Only the host named: another internal one stays refused, and so does 127.0.0.1 by its address.
    assert client.post("/settings/webhooks/new", data=form(url="http://10.0.0.6/x")).status_code == 422
    assert client.post("/settings/webhooks/new", data=form(url="http://127.0.0.1:8080/x")).status_code == 422
    assert count() == 2
    assert "10.0.0.5" in client.get("/settings/webhooks").get_data(as_text=True)


@pytest.mark.parametrize("text", ["http://localhost/", "local host", "a/b", "x" * 300,
                                  "\n".join(f"h{i}.example.com" for i in range(51))])
def test_bad_allowed_hosts_are_refused(client, admin, text):
    response = client.post("/settings/webhooks/allowed-hosts", data={"hosts": text})
    assert response.status_code == 422
    assert db.session.get(AppSetting, svc.ALLOWED_HOSTS) is None


@pytest.mark.parametrize("address,refused", [
    ("8.8.8.8", False), ("93.184.215.14", False), ("2606:4700::1111", False),
    ("127.0.0.1", True), ("10.0.0.1", True), ("169.254.1.1", True), ("::1", True), ("::", True),
    ("::ffff:127.0.0.1", True), ("::ffff:8.8.8.8", False), ("fe80::1%eth0", True), ("192.0.2.1", True),
    ("198.18.0.1", True), ("255.255.255.255", True), ("2001:db8::1", True), ("fec0::1", True),
])
def test_forbidden_addresses(address, refused):
    assert forbidden(address) is refused


def test_the_log_shows_figures_and_filters_by_status(client, admin, make):
    sub, failed = seed_webhook()
    ok = WebhookDelivery(subscription_id=sub.id, key="a" * 32, event_id="evt_ok", event_type="run.succeeded",
                         payload={}, status="delivered", attempts=2, status_code=204, duration_ms=387,
                         response_excerpt="accepted-by-receiver")
    db.session.add(ok)
    db.session.commit()
    page = client.get(f"/settings/webhooks/{sub.id}/deliveries").get_data(as_text=True)
    assert page.index(f'id="delivery-{ok.id}"') < page.index(f'id="delivery-{failed.id}"')  # newest first
    for text in ("204", "387", "accepted-by-receiver", "500", "oops", "HTTP 500", "Action run succeeded", ok.key):
        assert text in page
    only_failed = client.get(f"/settings/webhooks/{sub.id}/deliveries?status=failed").get_data(as_text=True)
    assert f'id="delivery-{failed.id}"' in only_failed and f'id="delivery-{ok.id}"' not in only_failed
    assert client.get(f"/settings/webhooks/{sub.id}/deliveries?status=bogus&before=x").status_code == 200


def test_the_log_pages_by_keyset(client, admin):
    sub, first = seed_webhook()
    db.session.add_all([WebhookDelivery(subscription_id=sub.id, key=f"{i:032d}", event_id=f"e{i}", event_type="ping",
                                        payload={}, status="delivered") for i in range(svc.PAGE + 5)])
    db.session.commit()
    page = client.get(f"/settings/webhooks/{sub.id}/deliveries").get_data(as_text=True)
    assert page.count('id="delivery-') == svc.PAGE and 'rel="next"' in page
    rows, next_before = svc.deliveries(sub)
    older = client.get(f"/settings/webhooks/{sub.id}/deliveries?before={next_before}").get_data(as_text=True)
    assert older.count('id="delivery-') == 6 and f'id="delivery-{first.id}"' in older and 'rel="next"' not in older


def test_test_event_and_delete(client, admin):
    sub, _ = seed_webhook()
    response = client.post(f"/settings/webhooks/{sub.id}/test")
    assert response.status_code == 302
    ping = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.event_type == "ping")).scalar_one()
    assert ping.status == "pending" and ping.enqueued_at is not None
    assert client.post(f"/settings/webhooks/{sub.id}/delete").status_code == 302
    assert count() == 0 and count(WebhookDelivery) == 0


def test_unknown_ids_are_404(client, admin):
    for method, url in [("GET", "/settings/webhooks/9999"), ("POST", "/settings/webhooks/9999"),
                        ("POST", "/settings/webhooks/9999/secret"), ("POST", "/settings/webhooks/9999/delete"),
                        ("POST", "/settings/webhooks/9999/test"), ("GET", "/settings/webhooks/9999/deliveries"),
                        ("POST", "/settings/webhooks/deliveries/9999/redeliver"),
                        ("GET", "/settings/webhooks/99999999999999999999")]:
        assert client.open(url, method=method, data=form()).status_code == 404


ROUTES = [("GET", "/settings/webhooks"), ("POST", "/settings/webhooks/allowed-hosts"),
          ("GET", "/settings/webhooks/new"), ("POST", "/settings/webhooks/new"), ("GET", "/settings/webhooks/{s}"),
          ("POST", "/settings/webhooks/{s}"), ("POST", "/settings/webhooks/{s}/secret"),
          ("POST", "/settings/webhooks/{s}/delete"), ("POST", "/settings/webhooks/{s}/test"),
          ("GET", "/settings/webhooks/{s}/deliveries"), ("POST", "/settings/webhooks/deliveries/{d}/redeliver")]


def snapshot():
    db.session.expire_all()
    return ([(s.name, s.url, s.secret_encrypted, s.active) for s in db.session.scalars(select(WebhookSubscription))],
            [(d.id, d.status) for d in db.session.scalars(select(WebhookDelivery))],
            [(a.key, a.value) for a in db.session.scalars(select(AppSetting))])


@pytest.mark.parametrize("method,url", ROUTES)
@pytest.mark.parametrize("role,status", [("partner", 404), ("manager", 403), ("agent", 403)])
def test_only_settings_managers_reach_webhooks(client, make, method, url, role, status):
    sub, delivery = seed_webhook()
    client.login(make.partner() if role == "partner" else make.user(role))
    before = snapshot()
    data = {**form(url="http://10.0.0.1/"), "hosts": "10.0.0.1"}
    response = client.open(url.format(s=sub.id, d=delivery.id), method=method, data=data)
    assert response.status_code == status
    assert snapshot() == before


@pytest.mark.parametrize("method,url", [r for r in ROUTES if r[0] == "POST"])
def test_posts_need_the_csrf_token(client, admin, method, url):
    sub, delivery = seed_webhook()
    before = snapshot()
    response = client.post(url.format(s=sub.id, d=delivery.id), data=form(), csrf=False)
    assert response.status_code == 400
    assert snapshot() == before


def test_settings_home_links_webhooks(client, admin):
    assert 'href="/settings/webhooks"' in client.get("/settings/").get_data(as_text=True)
