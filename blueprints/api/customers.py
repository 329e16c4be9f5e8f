"""Customers in the API: list (text search, keyset paging), read, create and change one through
services.customers — internal users only, as the pages (a partner's token gets 404, as a partner's page does)."""

from __future__ import annotations

from flask import abort, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate

from extensions import db
from models import Customer
from models.accounts import LANGUAGE_NAMES
from services import customers as svc

from . import api_blueprint
from .paging import keyset_page
from .schemas import PageArgs, at_most, page_schema

blp = api_blueprint("api_customers", __name__, "customers", "Customers (internal users only).")


class CustomerSchema(Schema):
    """A customer."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    language = fields.String(allow_none=True, required=True, metadata={"description": "it, es or en: "
                                                                         "the language of e-mails to the customer."})
    tax_code = fields.String(allow_none=True, required=True)
    address = fields.String(allow_none=True, required=True)
    city = fields.String(allow_none=True, required=True)
    postal_code = fields.String(allow_none=True, required=True)
    province = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(allow_none=True, required=True)


_EMAIL = validate.Email(error=_l("Enter a valid email address."))


class CustomerWriteSchema(Schema):
    """What creating a customer takes (its page's form); an update (PATCH) sends only what changes."""

    name = fields.String(required=True, validate=at_most(160, 1))
    email = fields.String(allow_none=True, validate=[at_most(254), lambda text: not text or _EMAIL(text)])
    phone = fields.String(allow_none=True, validate=at_most(40))
    language = fields.String(validate=validate.OneOf(list(LANGUAGE_NAMES), error=_l("Choose from the list.")),
                             metadata={"description": "it (default), es or en."})
    tax_code = fields.String(allow_none=True, validate=at_most(32))
    address = fields.String(allow_none=True, validate=at_most(200))
    city = fields.String(allow_none=True, validate=at_most(80))
    postal_code = fields.String(allow_none=True, validate=at_most(10))
    province = fields.String(allow_none=True, validate=at_most(60))


class CustomerListArgs(PageArgs):
    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=at_most(100),
                      metadata={"description": "Words in the name, e-mail or city."})


CustomerPage = page_schema(CustomerSchema, "CustomerPage")


def _internal() -> None:
    """Partners see no customers (the pages give them 404 too)."""
    if current_user.is_partner:
        abort(404)


def _may_edit() -> None:
    if not current_user.can("customers.edit"):
        abort(403, description=_l("You do not have the permission needed for this page or action."))


def _get(customer_id: int) -> Customer:
    _internal()
    return db.get_or_404(Customer, customer_id)


class CustomerPatchSchema(CustomerWriteSchema):
    """The same attributes, each optional: only what is sent changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


@blp.route("")
@blp.arguments(CustomerListArgs, location="query")
@blp.response(200, CustomerPage)
def list_customers(args):
    """Customers matching the text, newest first, a page at a time."""
    _internal()
    return keyset_page(svc.search(args["q"]), Customer.id, args)


@blp.route("/<int:customer_id>")
@blp.response(200, CustomerSchema)
def get_customer(customer_id: int):
    """One customer."""
    return _get(customer_id)


@blp.route("", methods=["POST"])
@blp.arguments(CustomerWriteSchema)
@blp.response(201, CustomerSchema, headers={"Location": {"schema": {"type": "string"}}})
def create_customer(data):
    """Create a customer (users who may edit customers)."""
    _internal()
    _may_edit()
    customer = svc.create_customer({"language": "it", **data})
    db.session.commit()
    return customer, {"Location": url_for("api_customers.get_customer", customer_id=customer.id)}


@blp.route("/<int:customer_id>", methods=["PATCH"])
@blp.arguments(CustomerPatchSchema)
@blp.response(200, CustomerSchema)
def update_customer(data, customer_id: int):
    """Change a customer: only the attributes sent."""
    customer = _get(customer_id)
    _may_edit()
    current = {key: getattr(customer, key) for key in svc.FIELDS}
    svc.update_customer(customer, {**current, **data})
    db.session.commit()
    return customer
