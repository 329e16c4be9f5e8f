"""Shared column helpers."""

from datetime import UTC, datetime

from flask_babel import get_locale
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC timestamps: SQLite and PostgreSQL then store and compare them alike."""
    return datetime.now(UTC).replace(tzinfo=None)


class TranslatedName:
    """A user-authored name with optional translations: `name` is the fallback, `label` the shown one."""

    name: Mapped[str] = mapped_column(String(120))
    name_i18n: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def label(self) -> str:
        return translated(self.name, self.name_i18n)


def translated(name: str | None, name_i18n: dict | None) -> str:
    """A translated name in the current language, else its fallback name (for rows read as columns)."""
    if not name_i18n:  # most names have no translation: no need to ask for the locale (lists ask per row)
        return name or ""
    try:
        lang = str(get_locale() or "")[:2]
    except (RuntimeError, AttributeError):  # outside a request: no locale to pick
        lang = ""
    return (name_i18n or {}).get(lang) or name or ""
