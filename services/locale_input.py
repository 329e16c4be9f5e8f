"""Numbers and dates as people type them in the page's language (it, es, en), read and written back.

Numbers are read by Babel (`parse_decimal(strict=True)`) with the page's locale, so Italian and Spanish
take "9.800,50" and "9800,50", English "9,800.50" and "9800.50". The rules (also in docs/glossary.md,
"Numbers and dates as typed"):

- Only ASCII digits, the locale's decimal and grouping separators and a leading minus are allowed
  ("1e5", "NaN", "9 800,50" are refused).
- Groups must be well formed: "1.2.3" or "98.00,50" in Italian, "9,800.50" in Italian (the English
  order), "9.800,50" in English are refused, never guessed.
- A lone separator with three digits after it is read *as the locale writes it*: the locale's
  grouping separator groups thousands and its decimal separator starts the decimals. Italian and
  Spanish "9.800" = 9800 and "9,800" = 9.8; English "9,800" = 9800 and "9.800" = 9.8. No guessing from
  the count of digits: what is shown on the page (the same locale's format) always reads back the same.
- A field with `places` decimals refuses more significant decimals than that ("9800,505" for an
  amount); trailing zeros are fine ("9,800" in Italian is 9.80).

Dates use one pattern per locale: the order and separator of Babel's short date format, with a
two-digit day and month and a four-digit year (it and es dd/mm/yyyy, en mm/dd/yyyy as CLDR's "en"
writes it). ISO yyyy-mm-dd is accepted too, so ISO links and old bookmarked filters keep working.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.dates import get_date_format
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from flask_babel import get_locale, ngettext, pgettext
from flask_babel import gettext as _

EXAMPLE = Decimal("9800.50")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class InputRefused(ValueError):
    """Text that is not a number or date in the page's language; `message` is translated for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_locale() -> str:
    """The page's language (Flask-Babel's choice), English outside a request."""
    return str(get_locale() or "en")


def _decimal_pattern(places: int | None, grouped: bool = True) -> str:
    decimals = "0" * (places if places is not None else 2)
    return ("#,##0" if grouped else "0") + (f".{decimals}" if decimals else "")


def format_number(value: Decimal | float | int | None, places: int | None = 2) -> str:
    """`value` as the page's language writes it, grouped, with `places` decimals ("9.800,50" in Italian)."""
    if value is None:
        return ""
    pattern = _decimal_pattern(places) if places is not None else "#,##0.###"
    return format_decimal(value, pattern, locale=current_locale())


def _example(places: int | None) -> dict:
    value = EXAMPLE if places != 0 else Decimal("9800")
    locale = current_locale()
    return {"grouped": format_decimal(value, _decimal_pattern(places), locale=locale),
            "plain": format_decimal(value, _decimal_pattern(places, grouped=False), locale=locale)}


def parse_number(text: str, places: int | None = None) -> Decimal:
    """The number `text` means in the page's language (rules in this module's docstring), or InputRefused."""
    locale = current_locale()
    text = (text or "").strip()
    allowed = re.escape(get_decimal_symbol(locale) + get_group_symbol(locale))
    if len(text) > 40 or not re.fullmatch(rf"-?[0-9{allowed}]*[0-9][0-9{allowed}]*", text):
        raise InputRefused(_("Write a number such as %(grouped)s or %(plain)s.", **_example(places)))
    try:
        value = parse_decimal(text, locale, strict=True)
    except NumberFormatError:
        raise InputRefused(_("Write a number such as %(grouped)s or %(plain)s.", **_example(places))) from None
    if places is None:
        return value
    step = Decimal(1).scaleb(-places)
    try:
        rounded = value.quantize(step)
    except InvalidOperation:
        raise InputRefused(_("Write a number such as %(grouped)s or %(plain)s.", **_example(places))) from None
    if rounded != value:
        raise InputRefused(ngettext("Use at most %(num)d decimal place, e.g. %(example)s.",
                                    "Use at most %(num)d decimal places, e.g. %(example)s.",
                                    places, example=_example(places)["plain"]))
    return rounded


def _date_layout() -> tuple[str, str]:
    """The locale's field order ("dMy", "Mdy", …) and separator, from Babel's short date format."""
    pattern = get_date_format("short", locale=current_locale()).pattern
    order = "".join(dict.fromkeys(ch for ch in pattern if ch in "dMy"))
    separator = next((ch for ch in pattern if not ch.isalpha() and ch != "'"), "/")
    return order, separator


def _date_parts(order: str, placeholder: bool) -> list[str]:
    if placeholder:  # the letters a user of this language reads as day, month, year
        words = {"d": pgettext("date format placeholder: day", "dd"),
                 "M": pgettext("date format placeholder: month", "mm"),
                 "y": pgettext("date format placeholder: year", "yyyy")}
    else:
        words = {"d": "%d", "M": "%m", "y": "%Y"}
    return [words[ch] for ch in order]


def date_placeholder() -> str:
    """The date format as the user reads it: "gg/mm/aaaa" in Italian, "dd/mm/aaaa" in Spanish, "mm/dd/yyyy" in English."""
    order, separator = _date_layout()
    return separator.join(_date_parts(order, placeholder=True))


def format_date_input(value: date | None) -> str:
    """`value` as a date field shows it in the page's language ("05/03/2025" in Italian for 5 March)."""
    if value is None:
        return ""
    order, separator = _date_layout()
    return value.strftime(separator.join(_date_parts(order, placeholder=False)))


def parse_date(text: str) -> date:
    """The date `text` means: ISO yyyy-mm-dd, or the page language's day/month/year order; else InputRefused."""
    text = (text or "").strip()
    order, separator = _date_layout()
    if match := ISO_DATE.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := re.fullmatch(r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})", text):
        values = dict(zip(order, (match.group(1), match.group(3), match.group(4)), strict=True))
        # "5/3/25": a two-digit year is refused rather than guessed.
        if len(values["y"]) != 4 or len(values["d"]) > 2 or len(values["M"]) > 2:
            raise InputRefused(_("Invalid date: use the format %(format)s.", format=date_placeholder()))
        year, month, day = int(values["y"]), int(values["M"]), int(values["d"])
    else:
        raise InputRefused(_("Invalid date: use the format %(format)s.", format=date_placeholder()))
    try:
        return date(year, month, day)
    except ValueError:
        raise InputRefused(_("Invalid date: use the format %(format)s.", format=date_placeholder())) from None


def date_input_value(text: str | None) -> str:
    """A date filter's value from the URL as its field shows it: the page's format when it reads, else as typed."""
    try:
        return format_date_input(parse_date(text)) if text else ""
    except InputRefused:
        return text or ""


def refused_dates(args, names: list[str]) -> list[str]:
    """One message per date filter in `args` (a URL's query) that does not read as a date; those filters are left out."""
    messages = []
    for name in names:
        try:
            if args.get(name):
                parse_date(args[name])
        except InputRefused as err:
            messages.append(err.message)
    return list(dict.fromkeys(messages))
