"""Domain events (docs/architecture.md, "Events and triggers"): services say what happened, in the caller's
transaction, and know nothing of who listens. The engine subscribes when the app is created
(engine.triggers.subscribe): today the substate hooks (on open, on close, scheduled); later each trigger
type is one more subscriber, so chains, the loop guard and the depth limit cover triggers too.

A receiver runs synchronously inside `send`, in the same transaction: what it adds is committed (or
rolled back) with the change that caused it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from blinker import Namespace

_events = Namespace()

# sender: the Opportunity; keyword `change`: a SubstateChange.
substate_opened = _events.signal("substate-opened")
substate_closed = _events.signal("substate-closed")
# sender: the Task; keyword `change`: a TaskChange. Trigger plug-ins (engine.trigger_types) listen.
task_status_changed = _events.signal("task-status-changed")
# sender: the Opportunity; keyword `change`: a FieldChange (services.field_values.store, whatever path).
field_changed = _events.signal("field-changed")
# sender: the ActionRun; keyword `change`: a RunOutcome. Sent by the engine as it records a run's end
# (succeeded, or failed for good), in the transaction that records it; outbound webhooks listen.
run_succeeded = _events.signal("run-succeeded")
run_failed = _events.signal("run-failed")
# sender: the Assignment; keyword `change`: an AssignmentAnswer (services.assignment.accept / reject).
assignment_accepted = _events.signal("assignment-accepted")
assignment_rejected = _events.signal("assignment-rejected")


@dataclass
class Chain:
    """The chain an event belongs to: started by a person, or by a run of an earlier action (its id,
    depth and parent run), so automatic changes that cause more changes can be followed and stopped."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    depth: int = 0
    parent_run_id: int | None = None

    @classmethod
    def from_run(cls, run) -> Chain:
        """The chain a run's own effects continue."""
        return cls(id=run.chain_id, depth=run.chain_depth + 1, parent_run_id=run.id)


@dataclass(frozen=True)
class SubstateChange:
    """A substate opened or closed on an opportunity, when, by whom (None: automation), in which chain."""

    opportunity: object
    substate: object
    at: datetime
    user: object | None
    chain: Chain
    # The substate's actions that make runs, in order, when the change read them with the substate (one
    # statement fewer per change); None: whoever needs them reads them.
    actions: list | None = None


@dataclass(frozen=True)
class TaskChange:
    """A task's status changed: from what to what, when, by whom (None: automation), in which chain, and
    the TaskStatusChange row that records it (a trigger fires at most once per change)."""

    task: object
    old_status: str | None
    new_status: str
    at: datetime
    user: object | None
    chain: Chain
    change_id: int


@dataclass(frozen=True)
class FieldChange:
    """A field of an opportunity changed ("custom:<id>" or "system:<key>"): whether it was and is filled,
    the new value as shown, when, by whom (None: automation), in which chain, and the substate whose close
    asked for it (None: set on its own)."""

    opportunity: object
    ref: str
    was_filled: bool
    is_filled: bool
    shown: str
    at: datetime
    user: object | None
    chain: Chain
    closing_substate_id: int | None = None


@dataclass(frozen=True)
class RunOutcome:
    """An action run ended: succeeded, or failed after its last attempt (with the error)."""

    run: object
    status: str
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class AssignmentAnswer:
    """A partner company accepted or rejected an assignment: who, when, and why (a rejection's reason)."""

    assignment: object
    opportunity: object
    user: object | None
    at: datetime


# sender: the Opportunity; keyword `event`: an ExternalEvent (services.webhooks, a valid signed event that
# names an opportunity). The external-event trigger type listens.
external_event_received = _events.signal("external-event-received")


@dataclass(frozen=True)
class ExternalEvent:
    """An external source's signed event about an opportunity: the source's name, the event's `type`, the
    whole JSON body as received (conditions address it by dotted paths, e.g. "data.amount"), when it was
    received, the sender's event id ("" when it sent none) and the chain it starts."""

    source: str
    type: str
    payload: dict
    received_at: datetime
    event_id: str
    chain: Chain
