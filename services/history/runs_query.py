"""Runs as lists of runs (the API's /runs): the history's tabs give the rows and the filters, read by the
registry's own parsing and scoped by its own base query (services.history.registry, services.access), so a
filter means the same runs in the API as on the page. Without a tab: every run the user may see, with the
filters every tab shares (opportunity, status, date) and the run's kind."""

from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models import ActionRun, Opportunity, User
from models.runs import RECORD_KINDS, RUN_STATUSES
from services.access import scope_opportunities
from services.history import registry
from services.history.registry import Column, Tab


def kind_label(key: str) -> str:
    """A run kind's name in the user's language (as the history and the timeline show it)."""
    from engine.kinds import KINDS

    return str(KINDS[key].label if key in KINDS else RECORD_KINDS.get(key, key))


def kind_options() -> dict:
    """Every run kind: the action kinds and the kinds of runs that record something else (a trigger's…)."""
    from engine.kinds import KINDS

    return {key: (kind_label(key), ActionRun.kind == key) for key in [*KINDS, *RECORD_KINDS]}


def all_tab() -> Tab:
    """The filters shared by every tab, over every run (not a tab of the page: nothing registers it)."""
    kinds = kind_options()
    return Tab(key="all", label=_l("Action runs"), kinds=tuple(kinds), columns=[
        registry.opportunity_column(),
        Column("kind", _l("Kind"), ActionRun.kind, lambda row: row[0].kind, filter="select", options=kinds),
        registry.when_column(),
        registry.status_column(registry.run_statuses(*RUN_STATUSES), lambda row: registry.run_status(row[0])),
    ])



def visible_run_ids(user: User) -> Select:
    """The ids of every run the user may see: the runs of the opportunities they may see (services.access)
    and, for a partner, of a tab that narrows its rows for partners (their own assignments, notifications
    addressed to them) only the rows that tab shows them."""
    stmt = scope_opportunities(
        select(ActionRun.id).join(Opportunity, Opportunity.id == ActionRun.opportunity_id), user)
    if user.is_partner:
        for tab in registry.tabs():
            if tab.partner_only is not None:
                shown = registry.base_query(tab, user).with_only_columns(ActionRun.id)
                stmt = stmt.where(or_(ActionRun.kind.not_in(tab.kinds), ActionRun.id.in_(shown)))
    return stmt


def runs(user: User, args, tab: Tab | None = None, opportunity_id: int | None = None,
         substate_id: int | None = None, kind: str | None = None) -> Select:
    """Select the runs the history shows `user` for the filters in `args` (the page's query parameters):
    in `tab` (its rows, its filters), else among every run they may see."""
    if tab is not None:
        ids = registry.base_query(tab, user).where(*registry.filter_conditions(tab, args))
        ids = ids.with_only_columns(ActionRun.id)
    else:
        ids = visible_run_ids(user).where(*registry.filter_conditions(all_tab(), args))
    if opportunity_id is not None:
        ids = ids.where(ActionRun.opportunity_id == opportunity_id)
    if substate_id is not None:
        ids = ids.where(ActionRun.substate_id == substate_id)
    if kind:
        ids = ids.where(ActionRun.kind == kind)
    return (select(ActionRun).where(ActionRun.id.in_(ids))
            .options(joinedload(ActionRun.opportunity), joinedload(ActionRun.substate)))


def run_or_404(run_id: int, user: User) -> ActionRun:
    """The run if the user may see it; otherwise 404, never a hint that it exists."""
    stmt = select(ActionRun).where(ActionRun.id == run_id, ActionRun.id.in_(visible_run_ids(user)))
    return db.session.execute(stmt).scalar_one_or_none() or abort(404)


def retry_target_or_404(run_id: int, user: User) -> ActionRun:
    """The run the history's Retry button names, scoped as that button scopes it (services.access)."""
    stmt = select(ActionRun).join(Opportunity, Opportunity.id == ActionRun.opportunity_id).where(ActionRun.id == run_id)
    return db.session.execute(scope_opportunities(stmt, user)).scalar_one_or_none() or abort(404)
