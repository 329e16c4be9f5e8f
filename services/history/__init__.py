"""The action history (SPEC §5): tab registry and the tabs built in; later tabs join by importing here."""

from services.history import (  # noqa: F401
    activities,
    assignment,
    email,
    exports,
    history_entries,
    notifications,
    process_automations,
    reports,
    signatures,
    substates,
    tasks,
    triggers,
)
from services.history.registry import (  # noqa: F401
    TABS,
    Column,
    Tab,
    count_text,
    options,
    page,
    register,
    tabs,
    timeline,
)
