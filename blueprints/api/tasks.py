"""Tasks in the API: the task list (the /tasks page's views and filters, read by its own parsing and paging,
services.task_list), one task, and its status change through services.tasks (the same people may change it,
and the change fires task-status triggers in the same transaction, as on the page)."""

from __future__ import annotations

import base64
import binascii

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from extensions import db
from models import Task
from models.tasks import TASK_STATUSES
from services import task_list
from services import tasks as task_svc

from . import api_blueprint
from .runs import DATE_RANGE, NO_NUL, query_id
from .schemas import PageArgs, RefSchema, at_most, page_schema

blp = api_blueprint("api_tasks", __name__, "tasks", "Tasks, scoped as the task list scopes them (partners: the "
                    "tasks of their company's opportunities).")

STATUS_CHOICE = _l("Choose a status from the list.")


class TaskSchema(Schema):
    """A task: what, on which opportunity, whose, by when, and its status."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(TASK_STATUSES)})
    status_label = fields.String(required=True)
    opportunity = fields.Nested(RefSchema, required=True)
    substate = fields.Nested(RefSchema, allow_none=True, required=True)
    responsible = fields.Nested(RefSchema, allow_none=True, required=True)
    deadline = fields.DateTime(allow_none=True, required=True, metadata={"description": "UTC."})
    created_at = fields.DateTime(required=True)
    created_by = fields.Nested(RefSchema, allow_none=True, required=True)
    by_automation = fields.Boolean(required=True, metadata={"description": "Created by an automatic action."})
    participant_ids = fields.List(fields.Integer(), required=True)
    observer_ids = fields.List(fields.Integer(), required=True)
    status_changed_at = fields.DateTime(allow_none=True, required=True)
    may_change = fields.Boolean(required=True, metadata={"description": "Whether the token's user may change "
                                                                        "its status."})


# In the task list's order: by deadline (none last), then id.
TaskPage = page_schema(TaskSchema, "TaskPage")

class TaskListArgs(PageArgs):
    """The task list's filters, as the /tasks page takes them."""

    class Meta:
        unknown = EXCLUDE

    view = fields.String(load_default="mine", validate=validate.OneOf(task_list.VIEWS),
                         metadata={"description": "mine (responsible), involved (or participant/observer), all."})
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "any", *TASK_STATUSES],
                                                                        error=STATUS_CHOICE),
                           metadata={"description": "open (to do, in progress), any, or one status."})
    deadline_from = fields.Date(load_default=None, validate=DATE_RANGE,
                                metadata={"description": "Inclusive, in the user's time zone."})
    deadline_to = fields.Date(load_default=None, validate=DATE_RANGE,
                              metadata={"description": "Inclusive, in the user's time zone."})
    responsible_id = query_id(load_default=None)
    opportunity = fields.String(load_default="", validate=[at_most(100), NO_NUL],
                                metadata={"description": "Words in the opportunity's name."})
    # The list's cursor carries the last row's deadline too.
    cursor = fields.String(load_default=None, validate=at_most(100),
                           metadata={"description": "The `next_cursor` of the previous page; empty for the first."})


class StatusChangeSchema(Schema):
    """The status to set."""

    class Meta:
        unknown = EXCLUDE

    status = fields.String(required=True, validate=validate.OneOf(list(TASK_STATUSES), error=STATUS_CHOICE),
                           metadata={"enum": list(TASK_STATUSES)})


def _ref(record) -> dict | None:
    return {"id": record.id, "name": getattr(record, "label", None) or record.name} if record else None


def dump(task: Task) -> dict:
    """A task as TaskSchema reads it."""
    return {
        "id": task.id, "title": task.title, "description": task.description or "", "status": task.status,
        "status_label": task.status_label, "opportunity": _ref(task.opportunity), "substate": _ref(task.substate),
        "responsible": _ref(task.responsible), "deadline": task.deadline, "created_at": task.created_at,
        "created_by": _ref(task.created_by), "by_automation": bool(task.by_automation),
        "participant_ids": task.user_ids("participant"), "observer_ids": task.user_ids("observer"),
        "status_changed_at": task.status_changed_at, "may_change": task_svc.may_change(current_user, task),
    }


def _encode(after: str | None) -> str | None:
    return base64.urlsafe_b64encode(f"task:{after}".encode()).decode().rstrip("=") if after else None


def _decode(cursor: str | None) -> str | None:
    """The task list's own cursor inside the API's opaque one; 400 for a cursor the API never gave."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _sep, after = text.partition(":")
    if kind != "task" or task_list.parse_filters({"after": after}).after is None:
        abort(400, description=_l("The cursor is not one this API gave; start again without it."))
    return after


@blp.route("")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPage)
def list_tasks(args):
    """Tasks matching the filters, in the task list's order, a page at a time."""
    query = {"view": args["view"], "status": args["status"], "opportunity": args["opportunity"],
             "responsible": str(args["responsible_id"] or ""), "after": _decode(args["cursor"]),
             "deadline_from": args["deadline_from"].isoformat() if args["deadline_from"] else "",
             "deadline_to": args["deadline_to"].isoformat() if args["deadline_to"] else ""}
    page = task_list.task_page(task_list.parse_filters(query), current_user, size=args["limit"])
    return {"items": [dump(t) for t in page.tasks], "next_cursor": _encode(page.next_after)}


@blp.route("/<int:task_id>")
@blp.response(200, TaskSchema)
def get_task(task_id: int):
    """One task; 404 when the token's user may not see it."""
    return dump(task_svc.get_task_or_404(task_id, current_user))


@blp.route("/<int:task_id>", methods=["PATCH"])
@blp.arguments(StatusChangeSchema)
@blp.response(200, TaskSchema)
def change_status(data, task_id: int):
    """Change the task's status, as its page does: its people, and internal users who edit opportunities
    (others 403). Task-status triggers fire in the same transaction."""
    task = task_svc.get_task_or_404(task_id, current_user)
    if not task_svc.may_change(current_user, task):
        abort(403, description=_l("You may not change this task."))
    task_svc.change_status(task, data["status"], current_user)
    db.session.commit()
    return dump(task)
