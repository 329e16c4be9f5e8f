"""Action runs: one row per execution of an automatic action (SPEC §4–5). The database is the source
of truth; Redis only carries run ids to the workers."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import utcnow
from models.flow import Action, Substate
from models.opportunity import Opportunity

RUN_STATUSES = {
    "pending": _l("Pending"),
    "scheduled": _l("Scheduled"),
    "running": _l("Running"),
    "sending": _l("Sending"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "skipped": _l("Skipped"),
    "needs_review": _l("Needs review"),
}
# A run in one of these states will not run again by itself.
FINAL_STATUSES = ("succeeded", "failed", "cancelled", "skipped", "needs_review")
WAITING_STATUSES = ("pending", "scheduled")
# Why a run was skipped, cancelled or stopped, stored as a code and shown in the reader's language.
REASONS = {
    "channel": _l("Not for this opportunity's channel."),
    "closed_before_due": _l("The substate was closed before the action was due."),
    "chain_guard": _l("Already ran for this opportunity in the same chain (loop guard)."),
    "chain_depth": _l("Stopped: the chain of automatic actions went deeper than allowed."),
    "already_open": _l("The substate was already open."),
    "not_open": _l("The substate was not open."),
    "lost": _l("The worker stopped while sending: check whether it went out before retrying."),
    "no_supervisor": _l("The opportunity's responsible user has no supervisor, and no other recipient was chosen."),
    "moving_back": _l("The opportunity already stands further on in the flow, and this trigger may not move it back."),
    "conditions": _l("The task did not meet the trigger's conditions."),
    "needs_note": _l("The substate asks for a note when it closes: a person must close it."),
    "needs_fields": _l("The substate requires fields that are still empty: a person must close it."),
    "field_at_close": _l("The field was filled when the substate was closed by hand."),
    # D13: its scheduled action was changed, disabled or deleted, and the person chose to cancel its runs.
    "action_changed": _l("Cancelled when its scheduled action was changed, disabled or deleted."),
    "no_working_day": _l("No working day in the next two years: every day is a holiday or outside the "
                         "responsible user's working days (Settings → Holidays). Set the time by hand."),
}
# Runs that record what no action kind did, so engine.kinds has no label for them: the webhook's run for an
# external source's event (services.webhooks), which applies the matching external-source action, and a
# trigger's run.
RECORD_KINDS = {
    "external_source": _l("External-source action"),
    # A trigger that fired (or was stopped) on an opportunity: engine.trigger_types, one kind per type.
    "trigger_task_status": _l("Trigger: task status"),
    "trigger_field": _l("Trigger: field filled or changed"),
    "trigger_external_event": _l("Trigger: external event"),
    # T2 and T3: a filled field or the last linked task done closed (ticked) a substate.
    "process_automation": _l("Process automation"),
    "linked_tasks": _l("Linked tasks done"),
}
TRIGGERS = {
    "on_open": _l("On open"),
    "on_close": _l("On close"),
    "scheduled": _l("Scheduled"),
    "retry": _l("Retry"),
    "external": _l("External source"),
    "trigger": _l("Trigger"),
    # Run now (E11): a person ran the action by hand, on one opportunity or on a filtered list.
    "manual": _l("Run now"),
}


class ActionRun(db.Model):
    __tablename__ = "action_run"
    __table_args__ = (
        Index("ix_action_run_status_due", "status", "due_at"),
        Index("ix_action_run_opportunity", "opportunity_id", "id"),
        Index("ix_action_run_kind", "kind", "id"),
        # History: a tab's status filter walks its kind's runs of that status newest first (SPEC H1).
        Index("ix_action_run_kind_status", "kind", "status", "id"),
        # …and an opportunity filter (or a partner's few opportunities) reads only that kind's runs of them.
        Index("ix_action_run_kind_opportunity", "kind", "opportunity_id", "id"),
        Index("ix_action_run_chain", "chain_id", "action_id"),
        Index("ix_action_run_after", "after_run_id"),
        Index("ix_action_run_trigger_chain", "chain_id", "trigger_id"),
        # The flow dashboard's period (services.dashboard): the runs of the last 7/30/90 days.
        Index("ix_action_run_created", "created_at"),
        # History sorted by date (issue 16): a tab's kind walked in date order, one page read.
        Index("ix_action_run_kind_created", "kind", "created_at", "id"),
        # An action's runs newest first: auto-pause asks whether one succeeded since its last failure.
        Index("ix_action_run_action", "action_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id", ondelete="SET NULL"))
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunity.id", ondelete="CASCADE"))
    substate_id: Mapped[int | None] = mapped_column(ForeignKey("substate.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    # The action's config when the run was created: what ran is what the history shows.
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    due_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime)
    job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    chain_id: Mapped[str] = mapped_column(String(32))
    chain_depth: Mapped[int] = mapped_column(Integer, default=0)
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"))
    # The one retry a person started of this failed run (services.runs.retry_run): a run is retried once.
    retried_by_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id"))
    # Runs of one event run in the configured order: this one waits for that one to finish.
    after_run_id: Mapped[int | None] = mapped_column(ForeignKey("action_run.id", ondelete="SET NULL"))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Another run waits for this one (spares a query per run when nothing does).
    has_next: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # A trigger's run (kind "trigger_<type>"): the trigger that fired, the loop guard's key for it.
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("trigger.id"))
    # D12: the type's config version the run was created with (services.flow_versions).
    config_version: Mapped[int | None] = mapped_column(Integer)

    action: Mapped[Action | None] = relationship()
    after_run: Mapped[ActionRun | None] = relationship(remote_side=[id], foreign_keys=[after_run_id])
    opportunity: Mapped[Opportunity] = relationship()
    substate: Mapped[Substate | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(RUN_STATUSES.get(self.status, self.status))

    @property
    def reason_text(self) -> str | None:
        return str(REASONS[self.reason]) if self.reason in REASONS else self.reason

    @property
    def stand_ins(self) -> list[dict]:
        """Who received what an absent user would have (services.absences), each with `until` as a date."""
        out = []
        for item in (self.result or {}).get("stand_ins") or []:
            try:
                out.append({**item, "until": date.fromisoformat(item.get("until") or "")})
            except (TypeError, ValueError, AttributeError):
                continue
        return out

    @property
    def error_text(self) -> str | None:
        return str(REASONS[self.error]) if self.error in REASONS else self.error

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
