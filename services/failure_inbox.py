"""The failure inbox (SPEC E10): failed and needs-review runs not yet retried, grouped by action and by their
error with the numbers taken out ("timeout after 30 s" and "timeout after 31 s" are one group), with filters
by type, action, error and date. Scoped as the action history scopes runs (services.history.runs_query):
internal users see every run, partners the runs of their company's opportunities."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Action, ActionRun, OpportunityType, State, Substate, User
from models.runs import REASONS
from services import locale_input
from services.history import runs_query
from services.locale_input import InputRefused
from services.runs import RETRYABLE

ERROR_KEY_LENGTH = 200
_NUMBERS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def error_key(error: str | None, reason: str | None) -> str:
    """The group a run's error belongs to: its text (or reason code) with numbers as '#', spaces collapsed."""
    text = error or reason or ""
    return _SPACES.sub(" ", _NUMBERS.sub("#", text)).strip()[:ERROR_KEY_LENGTH]


def error_shown(key: str) -> str:
    """A group's error as the reader reads it: a stored reason code in their language, else the text."""
    return str(REASONS[key]) if key in REASONS else (key or _("(no message)"))


@dataclass(frozen=True)
class Filters:
    """What the inbox shows (and a bulk retry retries); stored in the bulk retry's params as a dict."""

    type_id: int | None = None
    action_id: int | None = None
    error: str = ""
    date_from: str = ""  # ISO dates: a job's params must read the same in any language
    date_to: str = ""

    def params(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def of(cls, params: dict | None) -> Filters:
        params = params or {}
        return cls(**{k: params[k] for k in ("type_id", "action_id", "error", "date_from", "date_to") if k in params})


def _record_id(raw: str, message: str, errors: list[str]) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31:
        return int(raw)
    errors.append(message)
    return None


def parse(args) -> tuple[Filters, list[str]]:
    """Filters from a query string or form (dates in the page's language or ISO); messages for what does not
    read (a type or action that does not exist, a date that is not one, a range that ends before it starts)."""
    errors: list[str] = []
    type_id = _record_id(args.get("type", ""), _("Choose a type from the list."), errors)
    if type_id is not None and db.session.get(OpportunityType, type_id) is None:
        errors.append(_("Choose a type from the list."))
    action_id = _record_id(args.get("action", ""), _("Choose an automatic action from the list."), errors)
    if action_id is not None and db.session.get(Action, action_id) is None:
        errors.append(_("Choose an automatic action from the list."))
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            dates[name] = locale_input.parse_date(args[name]) if (args.get(name) or "").strip() else None
        except InputRefused as err:
            errors.append(err.message)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        errors.append(_("The end date is before the start date."))
    error = (args.get("error") or "").strip()
    if len(error) > ERROR_KEY_LENGTH:
        errors.append(_("The error text is too long."))
    if errors:
        return Filters(), list(dict.fromkeys(errors))
    return Filters(type_id, action_id, error, *(d.isoformat() if d else "" for d in (dates["from"], dates["to"]))), []


def candidates(user: User, filters: Filters) -> Select:
    """Select (id, action_id, kind, error, reason, created_at) of the runs the filters name, except the error
    (a group's key is matched in Python: `matches`): retryable, not retried yet, visible to `user`."""
    stmt = select(ActionRun.id, ActionRun.action_id, ActionRun.kind, ActionRun.error, ActionRun.reason,
                  ActionRun.created_at).where(ActionRun.status.in_(RETRYABLE), ActionRun.retried_by_id.is_(None),
                                              ActionRun.trigger != "trigger")
    if user.is_partner:  # the history's rule (services.history.runs_query); internal users see every run
        stmt = stmt.where(ActionRun.id.in_(runs_query.visible_run_ids(user)))
    if filters.action_id is not None:
        stmt = stmt.where(ActionRun.action_id == filters.action_id)
    if filters.type_id is not None:
        stmt = stmt.where(ActionRun.substate_id.in_(
            select(Substate.id).join(State, State.id == Substate.state_id).where(State.type_id == filters.type_id)))
    if filters.date_from:
        stmt = stmt.where(ActionRun.created_at >= date.fromisoformat(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(ActionRun.created_at < date.fromisoformat(filters.date_to) + timedelta(days=1))
    return stmt


def matches(filters: Filters, row) -> bool:
    """Whether a candidate row is in the filtered error group (every row when no error is chosen)."""
    return not filters.error or error_key(row.error, row.reason) == filters.error


def count(user: User, filters: Filters, upto_id: int | None = None) -> int:
    """How many runs a bulk retry of these filters would retry (those with an id up to `upto_id`)."""
    stmt = candidates(user, filters)
    if upto_id is not None:
        stmt = stmt.where(ActionRun.id <= upto_id)
    if not filters.error:
        return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    return sum(1 for row in db.session.execute(stmt) if matches(filters, row))


def groups(user: User, filters: Filters) -> list[dict]:
    """The inbox's groups, largest first: action, error, how many runs, the newest failure."""
    sub = candidates(user, filters).subquery()
    rows = db.session.execute(
        select(sub.c.action_id, sub.c.kind, sub.c.error, sub.c.reason, func.count(), func.max(sub.c.created_at))
        .group_by(sub.c.action_id, sub.c.kind, sub.c.error, sub.c.reason)).all()
    merged: dict[tuple, dict] = {}
    for action_id, kind, error, reason, n, newest in rows:
        key = error_key(error, reason)
        if filters.error and key != filters.error:
            continue
        group = merged.setdefault((action_id, kind, key), {"action_id": action_id, "kind": kind, "error": key,
                                                            "count": 0, "newest": newest})
        group["count"] += n
        group["newest"] = max(group["newest"], newest)
    actions = _actions({g["action_id"] for g in merged.values() if g["action_id"]})
    out = sorted(merged.values(), key=lambda g: (g["count"], g["newest"]), reverse=True)
    for group in out:
        group["action"] = actions.get(group["action_id"])
        group["error_shown"] = error_shown(group["error"])
        group["kind_label"] = runs_query.kind_label(group["kind"])
    return out


def _actions(ids: set[int]) -> dict[int, Action]:
    if not ids:
        return {}
    stmt = select(Action).where(Action.id.in_(ids)).options(selectinload(Action.substate).selectinload(Substate.state))
    return {a.id: a for a in db.session.execute(stmt).scalars()}


def choices(user: User) -> dict:
    """The filters' options: the types, and the actions that have runs in the inbox."""
    types = db.session.execute(select(OpportunityType).order_by(OpportunityType.name)).scalars().all()
    ids = {row[0] for row in db.session.execute(
        candidates(user, Filters()).with_only_columns(ActionRun.action_id).distinct()) if row[0]}
    return {"types": types, "actions": sorted(_actions(ids).values(), key=lambda a: a.id)}


def history_tab(kind: str) -> str | None:
    """The key of the action history's tab that lists runs of this kind (None if none does)."""
    from services import history

    return next((tab.key for tab in history.tabs() if kind in tab.kinds), None)
