"""Form fields for numbers and dates in the page's language: every amount, decimal and date field uses these.

The parsing and formatting rules live in services.locale_input (one helper for forms and URL filters).
Both render plain text inputs: a browser's own number and date inputs follow the browser's locale, not
the page's, and would refuse or reorder what the user typed.
"""

from markupsafe import Markup
from wtforms import DecimalField, Field
from wtforms.widgets import TextInput

from services.locale_input import (
    InputRefused,
    date_placeholder,
    format_date_input,
    format_number,
    parse_date,
    parse_number,
)


class _TextInput(TextInput):
    """A text input with the attributes the field asks for (inputmode, placeholder) unless the template sets them."""

    def __call__(self, field, **kwargs) -> Markup:
        for key, value in field.input_attributes().items():
            kwargs.setdefault(key, value)
        return super().__call__(field, **kwargs)


class LocaleDecimalField(DecimalField):
    """An amount or decimal number typed and shown in the page's language ("9.800,50" in Italian)."""

    widget = _TextInput()

    def input_attributes(self) -> dict:
        return {"inputmode": "decimal", "autocomplete": "off"}

    def _value(self) -> str:
        if self.raw_data:  # what the user typed, refused or not, so they can correct it
            return self.raw_data[0]
        return format_number(self.data, self.places) if self.data is not None else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        if not (valuelist[0] or "").strip():
            return  # empty: Optional() or DataRequired() decide
        try:
            self.data = parse_number(valuelist[0], self.places)
        except InputRefused as err:
            raise ValueError(err.message) from None


class LocaleDateField(Field):
    """A date typed and shown in the page language's format (placeholder "gg/mm/aaaa" in Italian); ISO too."""

    widget = _TextInput()

    def input_attributes(self) -> dict:
        return {"inputmode": "numeric", "autocomplete": "off", "placeholder": date_placeholder()}

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_date_input(self.data)

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        if not (valuelist[0] or "").strip():
            return
        try:
            self.data = parse_date(valuelist[0])
        except InputRefused as err:
            raise ValueError(err.message) from None

