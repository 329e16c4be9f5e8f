"""Small factories for tests: each creates and flushes real rows."""

import itertools
from decimal import Decimal

from extensions import db
from models import Channel, Customer, Opportunity, OpportunityType, PartnerCompany, State, Substate, User

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


class Factory:
    def user(self, role: str = "manager", company=None, **kw) -> User:
        n = next(_seq)
        user = User(email=kw.pop("email", f"user{n}@example.com"), name=kw.pop("name", f"User {n}"),
                    role=role, company=company, **kw)
        user.set_password(kw.pop("password", PASSWORD))
        db.session.add(user)
        db.session.commit()
        return user

    def company(self, kind: str = "installer", **kw) -> PartnerCompany:
        company = PartnerCompany(name=kw.pop("name", f"Company {next(_seq)}"), kind=kind, **kw)
        db.session.add(company)
        db.session.commit()
        return company

    def partner(self, kind: str = "installer") -> User:
        return self.user(role="partner", company=self.company(kind))

    def channel(self, name: str | None = None) -> Channel:
        channel = Channel(name=name or f"Channel {next(_seq)}")
        db.session.add(channel)
        db.session.commit()
        return channel

    def flow(self, shape=(2, 2), name: str | None = None) -> OpportunityType:
        """A type with len(shape) states, shape[i] substates in state i."""
        n = next(_seq)
        opp_type = OpportunityType(name=name or f"Type {n}", name_i18n={})
        for s, count in enumerate(shape):
            state = State(name=f"State {s + 1}", name_i18n={}, position=s)
            for p in range(count):
                state.substates.append(Substate(name=f"Substate {s + 1}.{p + 1}", name_i18n={}, position=p))
            opp_type.states.append(state)
        db.session.add(opp_type)
        db.session.commit()
        return opp_type

    def customer(self, **kw) -> Customer:
        n = next(_seq)
        customer = Customer(name=kw.pop("name", f"Customer {n}"), email=kw.pop("email", f"c{n}@example.net"), **kw)
        db.session.add(customer)
        db.session.commit()
        return customer

    def opportunity(self, opp_type=None, **kw) -> Opportunity:
        opp = Opportunity(
            name=kw.pop("name", f"Opportunity {next(_seq)}"),
            type=opp_type or self.flow(),
            channel=kw.pop("channel", None) or self.channel(),
            customer=kw.pop("customer", None) or self.customer(),
            amount=kw.pop("amount", Decimal("1000")),
            **kw,
        )
        db.session.add(opp)
        db.session.commit()
        return opp
