"""Custom fields as placeholders (S11): `{{ opportunity.fields.<key> }}` is the field's value as the
recipient's language shows it (the caller's force_locale), "" when it is empty or the key is unknown (the
sandbox's undefined renders empty). Values are plain strings in a dict, like every other placeholder: the
sandbox never reaches a model object."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import CustomField
from services import field_values as fv


def live_fields(type_id: int | None = None) -> list[CustomField]:
    """The custom fields not archived (of one opportunity type when given), in their order."""
    fields = db.session.execute(select(CustomField).where(CustomField.archived.is_(False))
                                .options(selectinload(CustomField.types))
                                .order_by(CustomField.position, CustomField.id)).scalars()
    return [f for f in fields if type_id is None or f.applies_to(type_id)]


def values(opp) -> dict[str, str]:
    """{key: value as shown} of every live custom field of the opportunity's type, in one query."""
    if opp is None:
        return {}
    refs = {f.key: fv.custom_ref(f) for f in live_fields(opp.type_id)}
    typed = fv.values_of(opp, list(refs.values()))
    return {key: fv.display(ref, typed[ref.ref]) for key, ref in refs.items()}


def placeholders() -> list[tuple[str, str]]:
    """("{{ opportunity.fields.<key> }}", description) for each live custom field, for template authors."""
    return [(f"{{{{ opportunity.fields.{f.key} }}}}",
             str(_l("Custom field “%(name)s”, as shown in the recipient's language", name=f.label)))
            for f in live_fields()]
