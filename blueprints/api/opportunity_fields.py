"""An opportunity's fields in the API (S11): read them, and set one with a canonical JSON value through
services.field_values — the same path as the page's inline edit, so a process automation or a field trigger
follows a value set here exactly as one typed on the page."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema, fields

from extensions import db
from models import Opportunity
from services import ServiceError
from services import custom_fields as custom_field_svc
from services import field_values as fv
from services.access import get_opportunity_or_404
from services.validation import InvalidData

from . import api_blueprint
from .schemas import RefSchema

blp = api_blueprint("api_opportunity_fields", __name__, "opportunities",
                    "The custom and system fields of an opportunity, read and set one at a time.")


class OptionSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)


class FieldValueSchema(Schema):
    """One field of the opportunity with its value (canonical JSON; null when empty)."""

    key = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "text, long_text, number, amount, date, "
                                                                 "yes_no, choice or multi_choice."})
    required = fields.Boolean(required=True)
    options = fields.List(fields.Nested(OptionSchema), required=True)
    value = fields.Raw(allow_none=True, required=True)


class FieldListSchema(Schema):
    opportunity = fields.Nested(RefSchema, required=True)
    items = fields.List(fields.Nested(FieldValueSchema), required=True)


class FieldValueInSchema(Schema):
    value = fields.Raw(required=True, allow_none=True, metadata={
        "description": "A number (or decimal string with \".\"), an ISO date, true/false, an option's key, a "
                       "list of keys for a multiple choice, text; null empties the field."})


def dump(field: fv.FieldRef, value) -> dict:
    """A field and its value as FieldValueSchema reads it."""
    return {"key": fv.key_of(field), "label": field.label, "type": field.field_type,
            "required": bool(field.custom and field.custom.required),
            "options": [{"key": o["key"], "name": fv.option_label(o)} for o in field.options],
            "value": fv.to_canonical(value)}


def field_by_key(opp: Opportunity, key: str) -> fv.FieldRef:
    """The field the key names on this opportunity; 404 otherwise."""
    field = fv.field_by_key(opp, key)
    if field is None:
        raise ServiceError(_("This field does not exist on this opportunity."), 404)
    return field


@blp.route("/<int:opportunity_id>/fields")
@blp.response(200, FieldListSchema)
def list_fields(opportunity_id: int):
    """The opportunity's fields (system ones, then the live custom fields of its type) with their values."""
    opp = get_opportunity_or_404(opportunity_id)
    refs = custom_field_svc.fields_of(opp)
    values = fv.values_of(opp, refs)
    return {"opportunity": {"id": opp.id, "name": opp.name}, "items": [dump(f, values[f.ref]) for f in refs]}


@blp.route("/<int:opportunity_id>/fields/<string(maxlength=60):key>")
@blp.response(200, FieldValueSchema)
def get_field(opportunity_id: int, key: str):
    """One field of the opportunity with its value."""
    opp = get_opportunity_or_404(opportunity_id)
    field = field_by_key(opp, key)
    return dump(field, fv.current(opp, field))


@blp.route("/<int:opportunity_id>/fields/<string(maxlength=60):key>", methods=["PUT"])
@blp.arguments(FieldValueInSchema)
@blp.response(200, FieldValueSchema)
def put_field(data, opportunity_id: int, key: str):
    """Set one field (internal users who may edit opportunities, as the page's Fields panel); a refused
    value is a 422 naming the field, and nothing is saved."""
    opp = get_opportunity_or_404(opportunity_id)
    if current_user.is_partner or not current_user.can("opportunities.edit"):
        abort(403, description=_l("You do not have the permission needed for this page or action."))
    field = field_by_key(opp, key)
    try:
        fv.set_value(opp, field.ref, data["value"], current_user, canonical=True)
    except InvalidData as err:
        raise InvalidData({"value": " ".join(err.errors.values())}) from None
    db.session.commit()
    return dump(field, fv.current(opp, field))
