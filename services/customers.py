"""Customer queries and mutations."""

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from extensions import db
from models import Customer, Opportunity
from services import ServiceError

FIELDS = ("name", "email", "phone", "language", "tax_code", "address", "city", "postal_code", "province")


def search(q: str = "") -> Select:
    """Customers matching the text, by name."""
    stmt = select(Customer).order_by(Customer.name, Customer.id)
    q = q.strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Customer.name.ilike(like), Customer.email.ilike(like), Customer.city.ilike(like)))
    return stmt


def _clean(data: dict) -> dict:
    """Stripped values, with empty optional fields stored as NULL rather than ''."""
    return {k: (data.get(k) or "").strip() or None for k in FIELDS}


def create_customer(data: dict) -> Customer:
    """Create a customer from validated data."""
    customer = Customer(**_clean(data))
    db.session.add(customer)
    db.session.flush()
    return customer


def update_customer(customer: Customer, data: dict) -> Customer:
    """Update a customer from validated data."""
    for key, value in _clean(data).items():
        setattr(customer, key, value)
    db.session.flush()
    return customer


def delete_customer(customer: Customer) -> None:
    """Delete a customer; refused while opportunities belong to it."""
    used = db.session.scalar(select(func.count()).select_from(Opportunity).where(Opportunity.customer_id == customer.id))
    if used:
        raise ServiceError(
            _("This customer has %(num)d opportunities and cannot be deleted.", num=used), 409
        )
    db.session.delete(customer)
