"""M5 "complete automatically when the opportunity moves to another substate": a subscriber to
services.events.substate_closed that completes the scheduled activities waiting on that substate, in the
closing's own transaction (so a rolled-back move leaves them open)."""

from models import Opportunity
from services import activities, events
from services.events import SubstateChange


def _on_closed(opp: Opportunity, change: SubstateChange) -> None:
    activities.auto_complete(opp, change.substate, change.at)


def subscribe() -> None:
    """Listen to substates closing (called by create_app; connecting twice is harmless)."""
    events.substate_closed.connect(_on_closed, weak=False)
