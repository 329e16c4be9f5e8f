"""Who receives an email, and in which language (SPEC A5; reused by reports, exports and signatures).

- client: the customer's email, in the customer's language;
- installer / commercial: the email of the partner company assigned to the opportunity, in the company's
  language (Settings → Partner companies). The company's address, not each of its users: it is the
  address the company gave for its work, and its users may change;
- owner: the opportunity owner's email, in the owner's language;
- extra internal users: each active one, in their language.
A user without a language setting gets the default language (BABEL_DEFAULT_LOCALE). An internal user who is
away (services.absences) is replaced by their stand-in, in the stand-in's language, when the caller passes
a `stand_ins` list: the substitution is appended to it, and the run keeps it in its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from engine.errors import PermanentError
from engine.render import LANGUAGES
from extensions import db
from models import User
from services import absences


@dataclass(frozen=True)
class Recipient:
    role: str  # client | installer | commercial | owner | user
    address: str
    name: str
    language: str


def _language(value: str | None) -> str:
    value = (value or "")[:2]
    return value if value in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


def language_of(value: str | None) -> str:
    """The language a person with this setting reads (the default language when unset or unknown)."""
    return _language(value)


def for_role(opp, role: str, stand_ins: list | None = None) -> Recipient:
    """The recipient a role names for this opportunity; a missing one or a missing address is a
    PermanentError saying which, so the run fails with the reason and nothing is sent."""
    if role == "client":
        customer = opp.customer
        if not customer.email:
            raise PermanentError(_("The client %(name)s has no email address.", name=customer.name))
        return Recipient("client", customer.email, customer.name, _language(customer.language))
    if role in ("installer", "commercial"):
        company = opp.installer if role == "installer" else opp.commercial
        if company is None:
            raise PermanentError(_("The opportunity has no installer assigned.") if role == "installer"
                                 else _("The opportunity has no commercial assigned."))
        if not company.email:
            raise PermanentError(_("The partner company %(name)s has no email address (Settings → Partner "
                                   "companies).", name=company.name))
        return Recipient(role, company.email, company.name, _language(company.language))
    if role == "owner":
        owner = opp.owner
        if owner is None:
            raise PermanentError(_("The opportunity has no internal owner."))
        if stand_ins is not None:  # a signer is not replaced (engine.kinds.esignature passes no list)
            owner = absences.resolve(owner, stand_ins)
        return Recipient("owner", owner.email, owner.name, _language(owner.language))
    raise PermanentError(_("Unknown recipient: %(role)s.", role=role))


def internal_users(user_ids, stand_ins: list | None = None) -> tuple[list[Recipient], list[int]]:
    """The chosen internal users who are still active (an absent one's stand-in instead), and the ids left
    out (deleted or deactivated)."""
    ids = [int(i) for i in user_ids or []]
    if not ids:
        return [], []
    users = db.session.execute(select(User).where(User.id.in_(ids))).scalars().all()
    found = {u.id: u for u in users if u.active and not u.is_partner}
    present = [found[i] if stand_ins is None else absences.resolve(found[i], stand_ins) for i in ids if i in found]
    chosen = [Recipient("user", u.email, u.name, _language(u.language)) for u in present]
    return chosen, [i for i in ids if i not in found]


def unique(recipients: list[Recipient]) -> list[Recipient]:
    """One message per address (the owner may also be among the extra users): the first role wins."""
    seen, out = set(), []
    for r in recipients:
        key = r.address.strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
