"""Install-wide settings chosen in the interface (e.g. the signature provider, SPEC S10): one row per key.
Deployment facts (URLs, keys) stay in the environment (config.py); these are the ones an admin changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import utcnow


class AppSetting(db.Model):
    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
