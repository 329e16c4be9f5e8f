"""History tab History entries (seed 002, M2 Add history entry): the entries automation wrote on the
opportunities' timelines, filterable by opportunity, responsible user, author, text and date, with how many
match — "the supervisor can filter the entries and see how many times the manager broke the rules"."""

from flask_babel import format_number, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import aliased

from models import ActionRun, HistoryEntry, Opportunity, User
from services.history.registry import (
    COMMON_STATUSES,
    WHEN_LABEL,
    Column,
    Tab,
    opportunity_column,
    register,
    run_status,
    run_statuses,
    status_column,
)
from services.history.shown import user_matches

Author = aliased(User, name="entry_author")
Owner = aliased(User, name="opportunity_owner")


def _count_text(found: int, more: bool) -> str:
    if more:
        return ngettext("More than %(count)s entry matches", "More than %(count)s entries match", found,
                        count=format_number(found))
    return ngettext("%(count)s entry matches", "%(count)s entries match", found, count=format_number(found))


TAB = register(Tab(
    key="history_entries", label=_l("History entries"), kinds=("add_history_entry",), position=100,
    entities=(HistoryEntry, Owner.name, Author.name),
    join=lambda stmt: stmt.outerjoin(HistoryEntry, HistoryEntry.run_id == ActionRun.id)
    .outerjoin(Owner, Owner.id == Opportunity.owner_id)
    .outerjoin(Author, Author.id == HistoryEntry.author_id),
    count_text=_count_text,
    columns=[
        opportunity_column(),
        # Found by the users' ids (services.history.shown.user_matches): the entries' author index answers.
        Column("responsible", _l("Responsible user"), Owner.name, lambda row: row[3] or "",
               match=user_matches(Opportunity.owner_id)),
        Column("author", _l("Author"), Author.name, lambda row: row[4] or "", match=user_matches(HistoryEntry.author_id)),
        Column("text", _l("Text"), HistoryEntry.text, lambda row: row[2].text if row[2] else ""),
        # When the entry was written (a delayed run writes it after it was scheduled); the run's date before.
        Column("when", WHEN_LABEL, func.coalesce(HistoryEntry.created_at, ActionRun.created_at),
               lambda row: row[2].created_at if row[2] else row[0].created_at, filter="date"),
        status_column(run_statuses("succeeded", *COMMON_STATUSES), lambda row: run_status(row[0])),
    ],
))
