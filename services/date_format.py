"""Dates and times as a page's many cells show them: the same text as Flask-Babel's format_datetime, built
from a pattern made once per language and length.

Why: format_datetime parses the locale and formats the date and the time separately for every value
(~70 µs): a history page's 50–60 dates were a tenth of its time. The locale's datetime format, with its
date and time patterns put in its {1} and {0}, is one pattern that gives the same text in one pass."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format, parse_pattern
from flask_babel import get_locale, get_timezone


@lru_cache(maxsize=64)
def _pattern(locale: str, length: str) -> tuple[DateTimePattern, Locale]:
    loc = Locale.parse(locale)
    combined = (get_datetime_format(length, loc).replace("{0}", get_time_format(length, loc).pattern)
                .replace("{1}", get_date_format(length, loc).pattern))
    return parse_pattern(combined), loc


def datetime_text(value: datetime, length: str = "medium") -> str:
    """`value` (naive: UTC, as stored) in the user's time zone and language, e.g. "3 dic 2026, 14:05:09"."""
    pattern, loc = _pattern(str(get_locale()), length)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return pattern.apply(value.astimezone(get_timezone()), loc)
