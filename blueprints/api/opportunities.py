"""Opportunities in the API: list (the page's filters, keyset paging) and read one, scoped as the pages are."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import request
from marshmallow import EXCLUDE, Schema, fields

from models import Opportunity
from services import custom_fields, opportunity_fields
from services import field_values as fv
from services import opportunities as opp_svc
from services.access import get_opportunity_or_404

from . import api_blueprint
from .paging import keyset_page
from .problems import for_status
from .schemas import Id, PageArgs, RefSchema, at_most, page_schema

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
    page["items"] = [dump(o, subs.get(o.id, [])) for o in page["items"]]
    return page


@blp.route("/<int:opportunity_id>")
@blp.response(200, OpportunityDetailSchema)
def get_opportunity(opportunity_id: int):
    """One opportunity with its notes and field values; 404 when the token's user may not see it."""
    opp = get_opportunity_or_404(opportunity_id)
    subs = opp_svc.open_substates_by_opportunity([opp.id])
    refs = [ref for ref in custom_fields.fields_of(opp) if ref.custom is not None]
    values = fv.values_of(opp, refs)
    return {**dump(opp, subs.get(opp.id, [])), "notes": opp.notes,
            "fields": {ref.custom.key: json_value(values.get(ref.ref)) for ref in refs}}


def json_value(value):
    """A typed field value as JSON carries it: decimals and dates as strings (ISO), lists and flags as is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
