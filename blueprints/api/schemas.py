"""Schemas the API's resources share: problems, references to other records, keyset pages."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.validation import MAX_ID

PAGE_MAX = 200


def iso_utc(value: datetime) -> str:
    """A datetime as RFC 3339 (what OpenAPI's "date-time" means): stored ones are naive UTC, so say so."""
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


# Every resource's fields.DateTime, whoever writes it: the app stores naive UTC datetimes (models.base.utcnow),
# and an ISO text without an offset is no "date-time" to a client (nor to schemathesis). marshmallow serves
# only the API here, so the one default format is changed rather than a field every module must remember.
fields.DateTime.SERIALIZATION_FUNCS = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": iso_utc, "iso8601": iso_utc}


def decimal_string_property(self, field, **kwargs) -> dict:
    """apispec attribute function: fields.Decimal(as_string=True) is documented as the string it is
    (apispec says "number", and the responses would not match their own document)."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": ["string", "null"] if field.allow_none else "string", "format": "decimal",
                "pattern": r"^-?\d+(\.\d+)?$"}
    return {}


def between(low: int, high: int) -> validate.Range:
    """A number from `low` to `high`, refused in the request's language."""
    return validate.Range(low, high, error=_l("Must be between {min} and {max}."))


class _TextLength(validate.Length):
    """A length check that also refuses NUL, which no text column takes (PostgreSQL would raise)."""

    def __call__(self, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(str(_l("Text cannot contain NUL characters.")))
        return super().__call__(value)


def at_most(length: int, minimum: int | None = None) -> validate.Length:
    """A text of at most `length` characters (and at least `minimum`), refused in the request's language."""
    if minimum:
        return _TextLength(minimum, length, error=_l("Must be {min} to {max} characters long."))
    return _TextLength(max=length, error=_l("At most {max} characters."))


class ProblemSchema(Schema):
    """An error (RFC 9457): `title` names the kind of problem in the request's language, `detail` this
    occurrence, `errors` the fields at fault."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Raw(metadata={"description": "Messages per field (or per row), when the input was refused."})


class RefSchema(Schema):
    """Another record, by id and name (its name in the request's language, where it has translations)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


class IdField(fields.Integer):
    """A strict integer that also takes its digits as text: a query string (?type_id=3) has no other way to
    send it; 1.5, true or "1e3" stay refused (non-strict marshmallow would truncate 1.5 to 1)."""

    def _validated(self, value):
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
            value = int(value)
        return super()._validated(value)


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - reads as a field type in schemas
    """A record id: 1 … 2³¹−1 (past it no record exists on any backend)."""
    return IdField(validate=between(1, MAX_ID), strict=True, **kwargs)


class PageArgs(Schema):
    """Keyset paging: `limit` rows after `cursor` (the `next_cursor` of the page before)."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=between(1, PAGE_MAX))
    cursor = fields.String(load_default=None, validate=at_most(40),
                           metadata={"description": "The `next_cursor` of the previous page; empty for the first."})


def encode_cursor(last_id: int) -> str:
    """An opaque cursor after the row with this id."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor continues after; None for the first page; ValueError for a cursor we never gave."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise ValueError("bad cursor") from err
    kind, _sep, number = text.partition(":")
    if kind != "id" or not number.isdigit() or not 0 < int(number) <= MAX_ID:
        raise ValueError("bad cursor")
    return int(number)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The schema of a page of `item`s: the items and the cursor of the next page (null on the last)."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(allow_none=True, required=True),
        "__doc__": f"A page of {item.__name__.removesuffix('Schema').lower()} records, newest first.",
    })
