"""Settings → Webhooks (issue 13 part 5): subscriptions to events, their secrets (shown once), the hosts
allowed despite the SSRF guard, the delivery log, redelivery and the test event. Permission
settings.manage (403 others, 404 partners)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField

from blueprints.settings import bp
from blueprints.settings.forms import MultiCheckboxField, options
from extensions import db
from models import WebhookDelivery, WebhookSubscription
from models.webhooks import DELIVERY_STATUSES, WEBHOOK_EVENTS
from services import outbound_webhooks as svc
from services.access import permission_required
from services.validation import InvalidData, record_id, show_on_form


class SubscriptionForm(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 120})
    url = StringField(_l("URL"), render_kw={"maxlength": 2000, "type": "url", "inputmode": "url",
                                            "placeholder": "https://example.com/oppflow-hook", "autocomplete": "off"})
    events = MultiCheckboxField(_l("Events"), choices=options(WEBHOOK_EVENTS), validate_choice=False)
    active = BooleanField(_l("Active"), default=True)

    def data_of(self) -> svc.SubscriptionData:
        return svc.SubscriptionData(self.name.data or "", self.url.data or "", list(self.events.data or []),
                                    bool(self.active.data))


class AllowedHostsForm(FlaskForm):
    hosts = TextAreaField(_l("Allowed internal hosts"), render_kw={"rows": 4, "autocomplete": "off"},
                          description=_l("One host name or IP address per line. Webhooks to these hosts may "
                                         "reach loopback, private and link-local addresses: allow only hosts "
                                         "you trust."))


@bp.route("/webhooks")
@permission_required("settings.manage")
def webhooks():
    """The subscriptions and the allowed internal hosts."""
    form = AllowedHostsForm(data={"hosts": "\n".join(sorted(svc.allowed_hosts()))})
    return render_template("settings/webhooks/index.html", subscriptions=svc.list_subscriptions(),
                           hosts_form=form, events=WEBHOOK_EVENTS)


@bp.route("/webhooks/allowed-hosts", methods=["POST"])
@permission_required("settings.manage")
def webhook_allowed_hosts():
    """Save the hosts webhooks may call although they resolve to internal addresses."""
    form = AllowedHostsForm()
    if form.validate_on_submit():
        try:
            svc.save_allowed_hosts(form.hosts.data or "")
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Allowed internal hosts saved."), "success")
            return redirect(url_for("settings.webhooks"))
    return render_template("settings/webhooks/index.html", subscriptions=svc.list_subscriptions(),
                           hosts_form=form, events=WEBHOOK_EVENTS), 422 if form.errors or form.form_errors else 400


@bp.route("/webhooks/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def webhook_new():
    """Subscribe a URL; the secret is shown once, on the page that answers."""
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            sub, secret = svc.create(form.data_of())
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            return render_template("settings/webhooks/secret.html", sub=sub, secret=secret)
    status = 422 if request.method == "POST" else 200
    return render_template("settings/webhooks/form.html", form=form, sub=None), status


@bp.route("/webhooks/<int:subscription_id>", methods=["GET", "POST"])
@permission_required("settings.manage")
def webhook_edit(subscription_id: int):
    """Change a subscription (name, URL, events, switch); refused data comes back with status 422."""
    sub = db.get_or_404(WebhookSubscription, subscription_id)
    form = SubscriptionForm(obj=sub if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            svc.update(sub, form.data_of())
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Webhook %(name)s saved.", name=sub.name), "success")
            return redirect(url_for("settings.webhooks"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/webhooks/form.html", form=form, sub=sub), status


@bp.route("/webhooks/<int:subscription_id>/secret", methods=["POST"])
@permission_required("settings.manage")
def webhook_secret(subscription_id: int):
    """Rotate the subscription's secret; the new one is shown once."""
    sub = db.get_or_404(WebhookSubscription, subscription_id)
    secret = svc.rotate_secret(sub)
    db.session.commit()
    return render_template("settings/webhooks/secret.html", sub=sub, secret=secret)


@bp.route("/webhooks/<int:subscription_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def webhook_delete(subscription_id: int):
    """Delete a subscription with its delivery log."""
    sub = db.get_or_404(WebhookSubscription, subscription_id)
    svc.delete(sub)
    db.session.commit()
    flash(_("Webhook deleted."), "success")
    return redirect(url_for("settings.webhooks"))


@bp.route("/webhooks/<int:subscription_id>/test", methods=["POST"])
@permission_required("settings.manage")
def webhook_test(subscription_id: int):
    """Send a test (ping) event; it shows in the delivery log."""
    sub = db.get_or_404(WebhookSubscription, subscription_id)
    svc.send_test(sub)
    db.session.commit()
    flash(_("Test event queued: see its delivery below."), "success")
    return redirect(url_for("settings.webhook_deliveries", subscription_id=sub.id))


@bp.route("/webhooks/<int:subscription_id>/deliveries")
@permission_required("settings.manage")
def webhook_deliveries(subscription_id: int):
    """The subscription's delivery log, newest first, by pages, optionally of one status."""
    sub = db.get_or_404(WebhookSubscription, subscription_id)
    status = request.args.get("status", "")
    status = status if status in DELIVERY_STATUSES else ""
    before = request.args.get("before", type=record_id) or None
    rows, next_before = svc.deliveries(sub, status, before)
    return render_template("settings/webhooks/deliveries.html", sub=sub, rows=rows, next_before=next_before,
                           status=status, statuses=DELIVERY_STATUSES, before=before)


@bp.route("/webhooks/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@permission_required("settings.manage")
def webhook_redeliver(delivery_id: int):
    """Send a delivery again with the same idempotency key (X-Oppflow-Delivery)."""
    delivery = db.get_or_404(WebhookDelivery, delivery_id)
    svc.redeliver(delivery)
    db.session.commit()
    flash(_("Delivery queued again."), "success")
    return redirect(url_for("settings.webhook_deliveries", subscription_id=delivery.subscription_id))
