"""Action runs in the API: the action history's lists (its tabs' filters, read by the history's own parsing
and scoped by its own query, services.history), one run, and the history's Retry (services.runs)."""

from __future__ import annotations

import re
from datetime import date

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from extensions import db
from models import ActionRun
from models.runs import RUN_STATUSES
from services import history
from services import runs as run_svc
from services.access import permission_required
from services.history import runs_query
from services.validation import MAX_ID

from . import api_blueprint
from .paging import keyset_page
from .problems import for_status
from .schemas import PageArgs, RefSchema, at_most, between, page_schema

blp = api_blueprint("api_runs", __name__, "runs", "Action runs, as the action history lists them (partners: "
                    "the runs of their company's opportunities).")


# PostgreSQL refuses a NUL character in text: refused here as bad input, before any query sees it.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error=_l("Invalid value."))


# Dates far enough from date.min / date.max that "the day after" and a time zone's shift stay representable.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
DATE_RANGE = validate.Range(FIRST_DAY, LAST_DAY, error=_l("Must be between {min} and {max}."))


def query_id(**kwargs) -> fields.Integer:
    """A record id in the query string ("12" is a number there; Id() is strict, for JSON bodies)."""
    return fields.Integer(validate=between(1, MAX_ID), **kwargs)


class RunSchema(Schema):
    """One run of an automatic action (or a record of one: a trigger's firing, a process automation)."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "The action kind's key, e.g. send_email."})
    kind_label = fields.String(required=True)
    trigger = fields.String(required=True, metadata={"description": "on_open, on_close, scheduled, retry…"})
    status = fields.String(required=True, metadata={"enum": list(RUN_STATUSES)})
    status_label = fields.String(required=True)
    opportunity = fields.Nested(RefSchema, required=True)
    substate = fields.Nested(RefSchema, allow_none=True, required=True,
                             metadata={"description": "The substate whose action made the run."})
    action_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True, required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True, metadata={"description": "Why it was skipped or "
                                                                                    "stopped, in words."})
    parent_run_id = fields.Integer(allow_none=True, required=True,
                                   metadata={"description": "The failed run this one retries."})
    retried_by_id = fields.Integer(allow_none=True, required=True,
                                   metadata={"description": "The retry of this run, once retried."})


RunPage = page_schema(RunSchema, "RunPage")


class RunListArgs(PageArgs):
    """The history's filters. With `tab`, that tab's rows and its filters under the page's names
    (`opportunity`, `status`, `when_from`, `when_to`, and the tab's own: `substate`, `change`, `template`…);
    without it, every run with `opportunity`, `status` (the run's), `when_from`, `when_to`. Always `kind`,
    `opportunity_id`, `substate_id`. Dates are ISO
    (YYYY-MM-DD), inclusive."""

    class Meta:
        unknown = EXCLUDE

    tab = fields.String(load_default=None, validate=validate.OneOf(sorted(history.TABS), error=_l("Choose one of: {choices}.")),
                        metadata={"description": "An action history tab (email, substates, tasks…)."})
    opportunity_id = query_id(load_default=None, metadata={"description": "Only this opportunity's runs."})
    substate_id = query_id(load_default=None, metadata={"description": "Only runs of this substate's actions."})
    opportunity = fields.String(load_default="", validate=[at_most(100), NO_NUL],
                                metadata={"description": "Words in the opportunity's name."})
    status = fields.String(load_default="", validate=[at_most(40), NO_NUL],
                           metadata={"description": "The tab's status option (without a tab: the run's status)."})
    kind = fields.String(load_default="", validate=[at_most(40), NO_NUL],
                         metadata={"description": "A run kind, e.g. send_email (with a tab, one of the tab's)."})
    when_from = fields.Date(load_default=None, validate=DATE_RANGE)
    when_to = fields.Date(load_default=None, validate=DATE_RANGE)


def iso_date(text: str) -> date | None:
    """A date written YYYY-MM-DD (the API's one date format) from FIRST_DAY to LAST_DAY, else None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def _refused_filters(tab) -> dict:
    """The tab's filters given in a form the history would silently ignore: a date that is not ISO, a choice
    not among the options (an API caller is told, not shown every row)."""
    errors = {key: [_l("Invalid value.")] for key, value in request.args.items(multi=True) if "\x00" in value}
    for col in tab.columns:
        if col.filter == "date":
            for end in ("from", "to"):
                value = request.args.get(f"{col.key}_{end}")
                if value:
                    if not iso_date(value):
                        errors[f"{col.key}_{end}"] = [_l("Not a valid date.")]
        elif col.filter == "select" and col.options is not None:
            value = request.args.get(col.key)
            if value and value not in col.options:
                errors[col.key] = [_l("Choose one of: {choices}.").format(choices=", ".join(col.options))]
        elif request.args.get(col.key) and len(request.args[col.key]) > 255:
            errors[col.key] = [_l("At most {max} characters.").format(max=255)]
    return errors


def dump(run: ActionRun) -> dict:
    """A run as RunSchema reads it."""
    sub = run.substate
    return {
        "id": run.id, "kind": run.kind, "kind_label": runs_query.kind_label(run.kind), "trigger": run.trigger,
        "status": run.status, "status_label": run.status_label,
        "opportunity": {"id": run.opportunity.id, "name": run.opportunity.name},
        "substate": {"id": sub.id, "name": sub.label} if sub is not None else None,
        "action_id": run.action_id, "created_at": run.created_at, "due_at": run.due_at,
        "started_at": run.started_at, "finished_at": run.finished_at, "attempts": run.attempts or 0,
        "error": run.error_text, "reason": run.reason_text, "parent_run_id": run.parent_run_id,
        "retried_by_id": run.retried_by_id,
    }


@blp.route("")
@blp.arguments(RunListArgs, location="query")
@blp.response(200, RunPage)
def list_runs(args):
    """Runs matching the history's filters, newest first, a page at a time."""
    tab = history.TABS.get(args["tab"] or "")
    errors = _refused_filters(tab or runs_query.all_tab())
    kinds = runs_query.kind_options()
    # Without a tab, `kind` is a column of all_tab() and was checked with the other filters.
    if tab is not None and args["kind"] and args["kind"] not in kinds:
        errors["kind"] = [_l("Choose one of: {choices}.").format(choices=", ".join(kinds))]
    if errors:
        return for_status(422, errors=errors)
    stmt = runs_query.runs(current_user, request.args, tab=tab, opportunity_id=args["opportunity_id"],
                           substate_id=args["substate_id"], kind=args["kind"] if tab is not None else None)
    page = keyset_page(stmt, ActionRun.id, args)
    page["items"] = [dump(r) for r in page["items"]]
    return page


@blp.route("/<int:run_id>")
@blp.response(200, RunSchema)
def get_run(run_id: int):
    """One run; 404 when the token's user may not see it (partners: another company's opportunity)."""
    return dump(runs_query.run_or_404(run_id, current_user))


@blp.route("/<int:run_id>/retry", methods=["POST"])
@blp.response(201, RunSchema)
@permission_required("opportunities.edit")
def retry_run(run_id: int):
    """Retry a failed run, as the history's Retry button does: a new attempt, run by the engine after the
    commit. Internal users who may edit opportunities (partners 404, others 403); a run that did not fail,
    or was already retried, 409."""
    run = runs_query.retry_target_or_404(run_id, current_user)
    new = run_svc.retry_run(run, current_user)
    db.session.commit()
    return dump(new), 201, {"Location": f"/api/v1/runs/{new.id}"}

