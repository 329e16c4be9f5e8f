"""Dates in pages: services.date_format gives exactly Flask-Babel's text, in each language and time zone."""

from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from flask_babel import force_locale, format_datetime, get_timezone
from pytz import timezone

from services.date_format import datetime_text

MOMENTS = [datetime(2026, 3, 29, 0, 59, 59), datetime(2026, 3, 29, 1, 0, 0),  # Rome's DST starts at 01:00 UTC
           datetime(2026, 10, 25, 0, 30), datetime(2026, 12, 31, 23, 59, 59, 999999), datetime(2027, 1, 1, 13, 5, 9),
           datetime(2026, 6, 1, 7, 0, tzinfo=UTC), datetime(2026, 6, 1, 7, 0, tzinfo=UTC) + timedelta(hours=12)]


@pytest.mark.parametrize("lang", ["it", "es", "en"])
@pytest.mark.parametrize("zone", ["Europe/Rome", "America/Bogota", "UTC"])
def test_each_text_is_flask_babels(app, lang, zone):
    with app.test_request_context(), force_locale(lang):
        get_timezone()  # Flask-Babel's per-request state exists; then the user's zone, as it keeps it
        g._flask_babel.babel_tzinfo = timezone(zone)
        for length in ("short", "medium", "long"):
            for moment in MOMENTS:
                assert datetime_text(moment, length) == format_datetime(moment, length), (lang, zone, length, moment)
        assert str(get_timezone()) == zone


def test_the_page_filter_reads_the_users_language(app):
    with app.test_request_context(), force_locale("it"):
        assert app.jinja_env.filters["dt"](datetime(2026, 12, 3, 13, 5, 9)).startswith("3 dic 2026, ")
    with app.test_request_context(), force_locale("en"):
        assert app.jinja_env.filters["dt"](datetime(2026, 12, 3, 13, 5, 9)).startswith("Dec 3, 2026, ")
