"""The opportunity page's timeline: the automatic actions' runs and the history entries written on behalf of
users (M2 Add history entry), merged newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db
from models import ActionRun, HistoryEntry, User
from services import history


@dataclass(frozen=True)
class Item:
    """One line of the timeline: a run or a history entry."""

    at: datetime
    run: ActionRun | None = None
    entry: HistoryEntry | None = None


def entries_of(opportunity_id: int, limit: int = 200) -> list[HistoryEntry]:
    """The opportunity's history entries, newest first, with their authors."""
    return list(db.session.execute(
        select(HistoryEntry).options(joinedload(HistoryEntry.author))
        .where(HistoryEntry.opportunity_id == opportunity_id).order_by(HistoryEntry.id.desc()).limit(limit)
    ).scalars())


def items(opportunity_id: int, user: User, limit: int = 200) -> list[Item]:
    """Runs and history entries of one (already authorised) opportunity, newest first. History entries are
    internal notes on how the team works (e.g. a rule broken): partner users do not see them."""
    lines = [Item(run.created_at, run=run) for run in history.timeline(opportunity_id, limit)]
    if not user.is_partner:
        lines += [Item(entry.created_at, entry=entry) for entry in entries_of(opportunity_id, limit)]
    # Stable: among equal times the runs (already newest first) keep their order and precede entries.
    lines.sort(key=lambda item: item.at, reverse=True)
    return lines[:limit]
