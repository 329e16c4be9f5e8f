"""Notifications in the API: the token user's own (never anyone else's), newest first, and marking them read
(services.notifications, as the bell and the list page do)."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields

from extensions import db
from models.notifications import Notification
from services import notifications as notify_svc

from . import api_blueprint
from .paging import keyset_page
from .schemas import PageArgs, page_schema

blp = api_blueprint("api_notifications", __name__, "notifications", "The token user's own notifications.")


class NotificationSchema(Schema):
    """A notification, its text in the request's language."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "assignment, run_failed, supervisor…"})
    text = fields.String(required=True)
    link = fields.String(allow_none=True, required=True, metadata={"description": "The page it is about."})
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)


NotificationPage = page_schema(NotificationSchema, "NotificationPage")


class NotificationListArgs(PageArgs):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})


class ReadAllSchema(Schema):
    marked = fields.Integer(required=True, metadata={"description": "How many were unread."})
    unread = fields.Integer(required=True, metadata={"description": "How many are unread now (0)."})


def dump(item: Notification) -> dict:
    """A notification as NotificationSchema reads it."""
    return {"id": item.id, "kind": item.kind, "text": item.text, "link": item.link,
            "created_at": item.created_at, "read_at": item.read_at}


@blp.route("")
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """The token user's notifications, newest first, a page at a time; listing marks nothing read."""
    page = keyset_page(notify_svc.of_user(current_user, args["unread"]), Notification.id, args)
    page["items"] = [dump(n) for n in page["items"]]
    return page


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def read_one(notification_id: int):
    """Mark one notification read; 404 when it is not the token user's."""
    item = notify_svc.mark_read(current_user, notification_id)
    if item is None:
        abort(404, description=_l("No such notification."))
    db.session.commit()
    return dump(item)


@blp.route("/read-all", methods=["POST"])
@blp.response(200, ReadAllSchema)
def read_all():
    """Mark every notification of the token user read."""
    marked = notify_svc.mark_all_read(current_user)
    db.session.commit()
    return {"marked": marked, "unread": notify_svc.unread_count(current_user)}
