"""The action history (SPEC §5): tab registry and the tabs built in; later tabs join by importing here."""

from services.history import activities, assignment, email, exports, reports, signatures, substates  # noqa: F401
from services.history import history_entries, notifications, tasks, triggers  # noqa: F401
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
