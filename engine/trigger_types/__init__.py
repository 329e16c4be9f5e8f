"""The registry of trigger types (docs/architecture.md, "Events and triggers"): one module per type, as for
action kinds; the designer, the validation, the flow map and the engine read it, and `subscribe_all`
connects each type's receiver to the services' events."""

from engine.trigger_types import external_event, field_changed, linked_tasks, process_automation, task_status
from engine.trigger_types.base import TriggerType

_MODULES = (task_status, field_changed, external_event)
# Receivers with no Trigger rows of their own: process automations are made in their panel, linked tasks
# from the opportunity page; the Triggers tab lists them read-only (services.triggers).
_RECEIVERS = (process_automation, linked_tasks)
TRIGGER_TYPES: dict[str, TriggerType] = {m.TRIGGER_TYPE.key: m.TRIGGER_TYPE for m in _MODULES}


def get_trigger_type(key: str | None) -> TriggerType | None:
    """The trigger type registered under `key`, or None."""
    return TRIGGER_TYPES.get(key or "")


def all_trigger_types() -> list[TriggerType]:
    return list(TRIGGER_TYPES.values())


def subscribe_all() -> None:
    """Let every trigger type listen to its event (called by create_app; connecting twice is harmless)."""
    for trigger_type in TRIGGER_TYPES.values():
        trigger_type.subscribe()
    for module in _RECEIVERS:
        module.subscribe()


__all__ = ["TRIGGER_TYPES", "TriggerType", "all_trigger_types", "get_trigger_type", "subscribe_all"]
