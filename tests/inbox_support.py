"""Failed runs made fast for the failure inbox's tests and bench: rows as the engine leaves them."""

from __future__ import annotations

import uuid

from extensions import db
from models import ActionRun
from models.base import utcnow


def failed_runs(action, opportunities, error: str = "SMTP server not reachable (attempt 3)",
                status: str = "failed", **values) -> list[int]:
    """One failed (or needs-review) run of `action` per opportunity, in one statement; their ids."""
    now = utcnow()
    rows = [{"action_id": action.id, "opportunity_id": opp_id, "substate_id": action.substate_id,
             "kind": action.kind, "config": dict(action.config or {}), "trigger": "on_open", "status": status,
             "due_at": now, "created_at": now, "finished_at": now, "error": error if status == "failed" else None,
             "reason": None if status == "failed" else error, "chain_id": uuid.uuid4().hex, "chain_depth": 0,
             "result": {}, "attempts": 1, "sequence": 0, "has_next": False, **values}
            for opp_id in (o if isinstance(o, int) else o.id for o in opportunities)]
    table = ActionRun.__table__
    ids = db.session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    db.session.commit()
    return list(ids)
