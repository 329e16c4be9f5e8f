"""Install-wide settings an admin chooses in the interface (models.settings.AppSetting). A key without a
row falls back to the deployment's configuration, so an environment default still applies until someone
chooses otherwise."""

from __future__ import annotations

from flask import current_app

from extensions import db
from models import AppSetting

ESIGN_PROVIDER = "esign_provider"
PROCESS_AUTOMATIONS_ACTIVE_LIMIT = "process_automations_active_limit"
# setting key -> the config name whose value applies while no choice is stored
DEFAULTS = {ESIGN_PROVIDER: "ESIGN_PROVIDER", PROCESS_AUTOMATIONS_ACTIVE_LIMIT: "PROCESS_AUTOMATIONS_ACTIVE_LIMIT"}


def get(key: str) -> str:
    """The stored value, else the configured default ('' when neither says anything)."""
    row = db.session.get(AppSetting, key)
    if row is not None:
        return row.value
    return current_app.config.get(DEFAULTS.get(key, ""), "") or ""


def put(key: str, value: str) -> None:
    """Store a value (the caller commits)."""
    row = db.session.get(AppSetting, key)
    if row is None:
        db.session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
