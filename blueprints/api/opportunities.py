"""Opportunities in the API: list (the page's filters, keyset paging), read, create and update one, scoped as
the pages are and through the same service as the opportunity form (services.opportunities)."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates

from extensions import db
from models import Opportunity, OpportunityType, User
from services import custom_fields, opportunity_fields
from services import field_values as fv
from services import opportunities as opp_svc
from services.access import get_opportunity_or_404
from services.locale_input import InputRefused
from services.validation import InvalidData

from . import api_blueprint
from .paging import keyset_page
from .problems import for_status
from .schemas import Id, PageArgs, RefSchema, at_most, iso_utc, page_schema

blp = api_blueprint("api_opportunities", __name__, "opportunities", "Opportunities, scoped to what the token's "
                    "user may see (partners: their company's).")


class OpenSubstateSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "The substate's id in the flow."})
    name = fields.String(required=True)
    state = fields.Nested(RefSchema, required=True)


class OpportunitySchema(Schema):
    """An opportunity as a list shows it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.Nested(RefSchema, required=True)
    channel = fields.Nested(RefSchema, required=True)
    customer = fields.Nested(RefSchema, required=True)
    amount = fields.Decimal(as_string=True, required=True, metadata={"description": "Decimal, as a string."})
    installer = fields.Nested(RefSchema, allow_none=True, required=True)
    commercial = fields.Nested(RefSchema, allow_none=True, required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    postal_code = fields.String(allow_none=True, required=True)
    province = fields.String(allow_none=True, required=True)
    company_name = fields.String(allow_none=True, required=True)
    contact_person = fields.String(allow_none=True, required=True)
    acquisition_source = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    open_substates = fields.List(fields.Nested(OpenSubstateSchema), required=True)


class OpportunityDetailSchema(OpportunitySchema):
    """An opportunity with its notes and custom fields."""

    notes = fields.String(allow_none=True, required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                         metadata={"description": "Custom and system field values by key (null when empty)."})


class OpportunityListArgs(PageArgs):
    """The list's filters, as the opportunity list page takes them. Custom fields filter as `cf_<key>`
    (ranges `cf_<key>_from`, `cf_<key>_to`), system fields as `sf_<key>`."""

    class Meta:
        unknown = EXCLUDE

    type_id = Id(load_default=None)
    channel_id = Id(load_default=None)
    state_id = Id(load_default=None, metadata={"description": "Only opportunities with an open substate in it."})
    q = fields.String(load_default="", validate=at_most(200),
                      metadata={"description": "Words in the name, the customer's name or e-mail."})


OpportunityPage = page_schema(OpportunitySchema, "OpportunityPage")


def _ref(record) -> dict | None:
    return {"id": record.id, "name": getattr(record, "label", None) or record.name} if record else None


def dump(opp, open_subs: list) -> dict:
    """An opportunity as OpportunitySchema reads it."""
    return {
        "id": opp.id, "name": opp.name, "type": _ref(opp.type), "channel": _ref(opp.channel),
        "customer": _ref(opp.customer), "amount": opp.amount, "installer": _ref(opp.installer),
        "commercial": _ref(opp.commercial), "owner_id": opp.owner_id, "postal_code": opp.postal_code,
        "province": opp.province, "company_name": opp.company_name, "contact_person": opp.contact_person,
        "acquisition_source": opp.acquisition_source, "created_at": opp.created_at,
        "open_substates": [{"id": s.id, "name": s.label, "state": _ref(s.state)} for s in open_subs],
    }


@blp.route("")
@blp.arguments(OpportunityListArgs, location="query")
@blp.response(200, OpportunityPage)
def list_opportunities(args):
    """Opportunities matching the filters, newest first, a page at a time."""
    filters = opp_svc.OpportunityFilters(type_id=args["type_id"], channel_id=args["channel_id"],
                                         state_id=args["state_id"], q=args["q"])
    # The field list costs two queries: only read it when the request filters on a field.
    wanted = any(name.startswith(("cf_", "sf_")) for name in request.args)
    read = opportunity_fields.read_filters(request.args, opportunity_fields.list_fields(filters.type_id) if wanted else [])
    if read.errors:
        return for_status(422, errors=read.errors)
    filters.fields = read.filters
    page = keyset_page(opp_svc.search(filters), Opportunity.id, args)
    subs = opp_svc.open_substates_by_opportunity([o.id for o in page["items"]])
    page["items"] = [_as_json(dump(o, subs.get(o.id, []))) for o in page["items"]]
    # Already in OpportunityPage's form: marshmallow going over 200 rows' 5,000 fields again cost a fifth of
    # the request. The schema still documents the answer, and tests/test_api_schema.py checks it holds.
    return jsonify(page)


def _as_json(item: dict) -> dict:
    """dump()'s values as the schema writes them: the amount as a string, the creation time in ISO 8601 with its UTC offset."""
    item["amount"] = None if item["amount"] is None else str(item["amount"])
    item["created_at"] = iso_utc(item["created_at"])
    return item


@blp.route("/<int:opportunity_id>")
@blp.response(200, OpportunityDetailSchema)
def get_opportunity(opportunity_id: int):
    """One opportunity with its notes and field values; 404 when the token's user may not see it."""
    return _detail_of(get_opportunity_or_404(opportunity_id))


def _detail_of(opp: Opportunity) -> dict:
    """An opportunity as OpportunityDetailSchema reads it."""
    subs = opp_svc.open_substates_by_opportunity([opp.id])
    refs = [ref for ref in custom_fields.fields_of(opp) if ref.custom is not None]
    values = fv.values_of(opp, refs)
    return {**dump(opp, subs.get(opp.id, [])), "notes": opp.notes,
            "fields": {ref.custom.key: fv.to_canonical(values.get(ref.ref)) for ref in refs}}


# --- create and update -------------------------------------------------------------------------------------

AMOUNT_MAX = Decimal("9999999999")


class OpportunityWriteSchema(Schema):
    """What creating an opportunity takes (its page's form); an update (PATCH) sends only what changes.
    `fields` sets custom (and system) fields by key, with canonical JSON values."""

    name = fields.String(required=True, validate=at_most(160, 1))
    type_id = Id(required=True)
    channel_id = Id(required=True)
    customer_id = Id(required=True)
    owner_id = Id(allow_none=True, metadata={"description": "The responsible user: an active internal user."})
    amount = fields.Decimal(allow_nan=False, allow_none=True, metadata={
        "description": "0 … 9999999999, at most 2 decimals; a JSON number or a decimal string with \".\"."})
    postal_code = fields.String(allow_none=True, validate=at_most(10))
    province = fields.String(allow_none=True, validate=at_most(60))
    company_name = fields.String(allow_none=True, validate=at_most(160))
    contact_person = fields.String(allow_none=True, validate=at_most(160))
    acquisition_source = fields.String(allow_none=True, validate=at_most(120))
    notes = fields.String(allow_none=True, validate=at_most(5000))
    fields = fields.Dict(keys=fields.String(validate=at_most(60)), values=fields.Raw(allow_none=True),
                         metadata={"description": "Field values by key: numbers, ISO dates, true/false, an "
                                                  "option's key, a list of keys for a multiple choice; null empties."})

    @validates("amount")
    def _amount(self, value, **_kw):
        if value is None:
            return
        if not 0 <= value <= AMOUNT_MAX:
            raise ValidationError(_("Must be between {min} and {max}.").format(min=0, max=AMOUNT_MAX))
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError(ngettext("Use at most %(num)d decimal place, e.g. %(example)s.",
                                           "Use at most %(num)d decimal places, e.g. %(example)s.",
                                           2, example="9800.50"))


class OpportunityPatchSchema(OpportunityWriteSchema):
    """The same attributes, each optional: only what is sent changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


WRITABLE = ("name", "type_id", "channel_id", "customer_id", "owner_id", "amount", "postal_code", "province",
            "company_name", "contact_person", "acquisition_source", "notes")


def _may_edit() -> None:
    """Creating and editing opportunities: internal users who may (as the pages' forms)."""
    if current_user.is_partner or not current_user.can("opportunities.edit"):
        abort(403, description=_l("You do not have the permission needed for this page or action."))


def _check_choices(data: dict, opp: Opportunity | None) -> None:
    """What the form's lists offer: a type that is not archived (unless the opportunity has it already) and
    an active internal user as the responsible one."""
    errors = {}
    opp_type = db.session.get(OpportunityType, data["type_id"])
    if opp_type is None or (opp_type.archived and (opp is None or opp.type_id != opp_type.id)):
        errors["type_id"] = _("Choose an opportunity type.")
    if data.get("owner_id") is not None:
        owner = db.session.get(User, data["owner_id"])
        if owner is None or owner.is_partner or not owner.active:
            errors["owner_id"] = _("Choose the responsible user.")
    if errors:
        raise InvalidData(errors)


def _read_fields(opp: Opportunity, given: dict) -> list[tuple[fv.FieldRef, object]]:
    """The `fields` of a request read canonically, every refusal collected as "fields.<key>" (InvalidData)."""
    read, errors = [], {}
    for key, raw in given.items():
        field = fv.field_by_key(opp, key)
        if field is None:
            errors[f"fields.{key}"] = _("This field does not exist on this opportunity.")
            continue
        try:
            value = fv.parse_canonical(field, raw)
        except InputRefused as err:
            errors[f"fields.{key}"] = err.message
            continue
        if value is None and field.custom is not None and field.custom.required:
            errors[f"fields.{key}"] = _("“%(name)s” is required.", name=field.label)
            continue
        read.append((field, value))
    if errors:
        raise InvalidData(errors)
    return read


def _save(data: dict, opp: Opportunity | None) -> Opportunity:
    """Create or update through the service the form uses, then set the fields (announced, so process
    automations follow); any refusal raises before the commit, so nothing is half-saved."""
    _check_choices(data, opp)
    given = data.pop("fields", None) or {}
    opp = opp_svc.update_opportunity(opp, data, current_user) if opp else opp_svc.create_opportunity(data, current_user)
    for field, value in _read_fields(opp, given):
        fv.store(opp, field, value, current_user)
    db.session.commit()
    return opp


@blp.route("", methods=["POST"])
@blp.arguments(OpportunityWriteSchema)
@blp.response(201, OpportunityDetailSchema, headers={"Location": {"schema": {"type": "string"}}})
def create_opportunity(data):
    """Create an opportunity (internal users who may create them, as the page's form)."""
    _may_edit()
    opp = _save(dict(data), None)
    return _detail_of(opp), {"Location": url_for("api_opportunities.get_opportunity", opportunity_id=opp.id)}


@blp.route("/<int:opportunity_id>", methods=["PATCH"])
@blp.arguments(OpportunityPatchSchema)
@blp.response(200, OpportunityDetailSchema)
def update_opportunity(data, opportunity_id: int):
    """Change an opportunity: only the attributes sent; its type cannot change once its flow has started."""
    opp = get_opportunity_or_404(opportunity_id)
    _may_edit()
    current = {key: getattr(opp, key) for key in WRITABLE if key not in fv.SYSTEM_FIELDS}
    return _detail_of(_save({**current, **data}, opp))
