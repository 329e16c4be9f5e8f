"""Field-level refusals: a service names the fields at fault so the route can show them on the form."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from services import ServiceError


class InvalidData(ServiceError):
    """Data a service refuses, with a translated message per form field (status 422)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), 422)
        self.errors = errors


def show_on_form(form, err: InvalidData) -> None:
    """Put a service's field messages on the form's fields (unknown names go to the form's own errors).

    A form whose field names differ from the service's data keys maps them in `service_fields`.
    """
    aliases = getattr(form, "service_fields", {})
    for name, message in err.errors.items():
        field = form._fields.get(aliases.get(name, name))
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message]


# The largest id a record can have on every backend we run on: PostgreSQL's integer column (SQLite's is
# wider). A posted number past it names no record, and SQLite would raise OverflowError binding it.
MAX_ID = 2**31 - 1


def record_id(value) -> int:
    """An id as a form or query string posts it: 0..MAX_ID (0 is the "none" some selects offer; it finds
    nothing), else ValueError, which WTForms and werkzeug's `type=` treat as an invalid choice or a missing
    value: never a query that overflows."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        raise ValueError(f"not a record id: {text[:20]!r}")
    number = int(text)
    if number > MAX_ID:
        raise ValueError(f"not a record id: {text[:20]!r}")
    return number


def optional_record_id(value) -> int | None:
    """A select's id where empty means none; anything else as record_id."""
    if value in (None, "", "None"):
        return None
    return record_id(value)


def record_id_or_none(value) -> int | None:
    """An id as record_id, or None for anything that cannot be one (for fields that refuse unknown ids)."""
    try:
        return optional_record_id(value)
    except (TypeError, ValueError):
        return None


def name_key(name: str | None) -> str:
    """What two names share when they are "the same name": trimmed and Unicode case-folded."""
    return (name or "").strip().casefold()


def name_taken(column, name: str | None, exclude_id: int | None = None) -> bool:
    """Whether another row has this name, whatever its case.

    Compared in Python with str.casefold: SQLite's lower() folds ASCII only (so 'Ω' never matched its own
    copy and the unique constraint answered with a 500) while PostgreSQL's follows its collation. Folding
    here gives one answer on both and refuses every exact duplicate the constraint would. The tables
    compared (channels, templates, companies, types of activity, credentials) hold tens of rows."""
    model = column.class_
    stmt = select(model.id, column)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    wanted = name_key(name)
    return any(name_key(other) == wanted for _id, other in db.session.execute(stmt))


def flush_unique(field: str, message: str) -> None:
    """Flush; a unique constraint tripped by a simultaneous save (after the check looked) becomes the
    form's message on `field` (InvalidData, 422; the caller rolls back), not a 500."""
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidData({field: message}) from None
