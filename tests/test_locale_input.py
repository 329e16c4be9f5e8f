"""services.locale_input and its form fields: numbers and dates read and shown in it, es and en."""

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import Optional

from blueprints.fields import LocaleDateField, LocaleDecimalField
from services.locale_input import (
    InputRefused,
    date_input_value,
    date_placeholder,
    format_date_input,
    format_number,
    parse_date,
    parse_number,
)


@pytest.fixture
def in_locale(app):
    """Run the helpers as a page in `lang` would."""
    @contextmanager
    def enter(lang: str):
        with app.test_request_context(), force_locale(lang):
            yield
    return enter


ACCEPTED = [
    ("it", "9.800,50", "9800.50"), ("it", "9800,50", "9800.50"), ("it", "9.800", "9800"), ("it", "9,800", "9.80"),
    ("it", "1.234.567,89", "1234567.89"), ("it", "0,5", "0.50"), ("it", " 12 ", "12"), ("it", "-3,5", "-3.50"),
    ("es", "9.800,50", "9800.50"), ("es", "9800,50", "9800.50"), ("es", "9.800", "9800"), ("es", "9,800", "9.80"),
    ("en", "9,800.50", "9800.50"), ("en", "9800.50", "9800.50"), ("en", "9,800", "9800"), ("en", "9.800", "9.80"),
    ("en", "1,234,567.89", "1234567.89"),
]


@pytest.mark.parametrize(("lang", "typed", "value"), ACCEPTED)
def test_numbers_in_the_locales_format_are_read(in_locale, lang, typed, value):
    with in_locale(lang):
        assert parse_number(typed, places=2) == Decimal(value)


REFUSED = [
    ("it", "9,800.50"), ("it", "9800.50"), ("it", "1.2.3"), ("it", "98.00,50"), ("it", "9800,505"), ("it", "1e5"),
    ("it", "NaN"), ("it", "9 800,50"), ("it", ""), ("it", "-"), ("it", "٣"), ("it", "12 €"),
    ("es", "9,800.50"), ("es", "1.2.3"), ("es", "9800,505"), ("es", "Infinity"),
    ("en", "9.800,50"), ("en", "9800,50"), ("en", "1.2.3"), ("en", "9800.505"), ("en", "1,2"), ("en", "9,80.50"),
]


@pytest.mark.parametrize(("lang", "typed"), REFUSED)
def test_ambiguous_or_malformed_numbers_are_refused_with_a_translated_message(in_locale, lang, typed):
    with in_locale(lang), pytest.raises(InputRefused) as refused:
        parse_number(typed, places=2)
    example = {"it": "9800,50", "es": "9800,50", "en": "9800.50"}[lang]
    first_word = {"it": ("Scrivi", "Usa al"), "es": ("Escribe", "Usa como"), "en": ("Write", "Use at")}[lang]
    assert example in refused.value.message and refused.value.message.startswith(first_word)


def test_whole_numbers_refuse_decimals_and_unquantized_numbers_keep_them(in_locale):
    with in_locale("it"):
        assert parse_number("9.800", places=0) == Decimal("9800")
        with pytest.raises(InputRefused, match="0 decimali"):
            parse_number("9,5", places=0)
        assert parse_number("0,125") == Decimal("0.125")


@pytest.mark.parametrize(("lang", "shown"), [("it", "9.800,50"), ("es", "9.800,50"), ("en", "9,800.50")])
def test_numbers_are_shown_in_the_locales_format_and_read_back(in_locale, lang, shown):
    with in_locale(lang):
        assert format_number(Decimal("9800.5")) == shown
        assert parse_number(format_number(Decimal("9800.5")), places=2) == Decimal("9800.50")


@pytest.mark.parametrize(("lang", "placeholder", "shown"), [
    ("it", "gg/mm/aaaa", "05/03/2025"), ("es", "dd/mm/aaaa", "05/03/2025"), ("en", "mm/dd/yyyy", "03/05/2025"),
])
def test_dates_use_one_format_per_locale_and_iso(in_locale, lang, placeholder, shown):
    march_5 = date(2025, 3, 5)
    with in_locale(lang):
        assert date_placeholder() == placeholder
        assert format_date_input(march_5) == shown
        assert parse_date(shown) == march_5
        assert parse_date("2025-03-05") == march_5
        assert date_input_value("2025-03-05") == shown  # an ISO filter in the URL is shown as the user writes dates
        assert date_input_value("garbage") == "garbage"


@pytest.mark.parametrize(("lang", "typed", "value"), [
    ("it", "5/3/2025", date(2025, 3, 5)), ("it", "31.12.2024", date(2024, 12, 31)), ("es", "29/02/2024", date(2024, 2, 29)),
    ("en", "12/31/2024", date(2024, 12, 31)), ("en", "3-5-2025", date(2025, 3, 5)),
])
def test_dates_in_the_locales_order_are_read(in_locale, lang, typed, value):
    with in_locale(lang):
        assert parse_date(typed) == value


@pytest.mark.parametrize(("lang", "typed", "message"), [
    ("it", "31/02/2025", "Data non valida: usa il formato gg/mm/aaaa."), ("it", "12/31/2024", "Data non valida"),
    ("it", "5/3/25", "Data non valida"), ("it", "5/3", "Data non valida"), ("it", "2025-13-01", "Data non valida"),
    ("es", "29/02/2025", "Fecha no válida: usa el formato dd/mm/aaaa."), ("es", "5/3-2025", "Fecha no válida"),
    ("en", "31/12/2024", "Invalid date: use the format mm/dd/yyyy."), ("en", "tomorrow", "Invalid date"),
    ("en", "", "Invalid date"), ("en", "123/1/2025", "Invalid date"),
])
def test_invalid_dates_are_refused_with_a_translated_message(in_locale, lang, typed, message):
    with in_locale(lang), pytest.raises(InputRefused) as refused:
        parse_date(typed)
    assert message in refused.value.message


class _Form(FlaskForm):
    class Meta:
        csrf = False

    weight = LocaleDecimalField("Weight", places=1, validators=[Optional()])
    due = LocaleDateField("Due", validators=[Optional()])


def test_fields_render_text_inputs_in_the_locale_and_keep_refused_input(in_locale):
    with in_locale("it"):
        shown = _Form(data={"weight": Decimal("1234.5"), "due": date(2025, 3, 5)})
        assert 'value="1.234,5"' in shown.weight() and 'inputmode="decimal"' in shown.weight()
        assert 'type="text"' in shown.due() and 'value="05/03/2025"' in shown.due()
        assert 'placeholder="gg/mm/aaaa"' in shown.due()
        posted = _Form(formdata=MultiDict({"weight": "1,25", "due": "31/02/2025"}))
        assert not posted.validate()
        assert posted.weight.errors == ["Usa al massimo 1 decimale, ad es. 9800,5."]
        assert posted.due.errors == ["Data non valida: usa il formato gg/mm/aaaa."]
        assert 'value="31/02/2025"' in posted.due()
        empty = _Form(formdata=MultiDict({"weight": "", "due": ""}))
        assert empty.validate() and (empty.weight.data, empty.due.data) == (None, None)
