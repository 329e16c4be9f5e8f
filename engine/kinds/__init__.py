"""The registry of action kinds (docs/architecture.md, conventions): one module per kind; the designer, validation, worker
and history all read it, so a new kind is one new module listed here."""

from engine.kinds import (
    add_history_entry,
    assign_commercial,
    assign_installer,
    close_substate,
    complete_tasks,
    create_activity,
    create_task,
    esignature,
    export,
    generate_report,
    notify_supervisor,
    open_substate,
    schedule_activity,
    send_email,
)
from engine.kinds.base import Kind, Lookup, Missing

# SPEC §2 order, A1–A9, then the supervisor's monitoring rules of seed 002 (M1–M4).
_MODULES = (assign_installer, assign_commercial, open_substate, close_substate, send_email,
            generate_report, create_activity, esignature, export,
            notify_supervisor, add_history_entry, create_task, complete_tasks,
            schedule_activity)  # M5
KINDS: dict[str, Kind] = {m.KIND.key: m.KIND for m in _MODULES}


def get_kind(key: str | None) -> Kind | None:
    """The kind registered under `key`, or None."""
    return KINDS.get(key or "")


def all_kinds() -> list[Kind]:
    return list(KINDS.values())


__all__ = ["KINDS", "Kind", "Lookup", "Missing", "all_kinds", "get_kind"]


def load_plugins(paths: str) -> None:
    """Register kinds from further modules (config OPPFLOW_KIND_PLUGINS, comma separated), each with a KIND."""
    import importlib

    for path in filter(None, (p.strip() for p in (paths or "").split(","))):
        kind = importlib.import_module(path).KIND
        KINDS[kind.key] = kind
