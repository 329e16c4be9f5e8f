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

    # -- flow designer (issue 3): the records actions refer to, and actions -----------------------------

    def email_template(self, name: str | None = None):
        from models import EmailTemplate

        return self._add(EmailTemplate(name=name or f"Email template {next(_seq)}",
                                       subjects={"en": "Hello"}, bodies={"en": "<p>Hello</p>"}))

    def smtp(self, name: str | None = None):
        from models import SmtpCredential

        return self._add(SmtpCredential(name=name or f"SMTP {next(_seq)}", host="127.0.0.1", port=25,
                                        security="none", from_address="noreply@example.com"))

    def report_template(self, label: str | None = None):
        from models import ReportTemplate

        return self._add(ReportTemplate(label=label or f"Report {next(_seq)}", html="<p>{{ opportunity.name }}</p>"))

    def export_template(self, name: str | None = None):
        from models import ExportTemplate

        return self._add(ExportTemplate(name=name or f"Export {next(_seq)}", columns=["name", "amount"]))

    def external_action(self, name: str | None = None):
        from models import ExternalSourceAction

        return self._add(ExternalSourceAction(name=name or f"External {next(_seq)}", source_name="esign"))

    def activity_type(self, name: str | None = None, active: bool = True):
        from models import ActivityType

        return self._add(ActivityType(name=name or f"Activity {next(_seq)}", name_i18n={}, active=active))

    def assignment_rule(self, partner_kind: str = "installer", company=None, **kw):
        from models import AssignmentRule, AssignmentRuleCompany

        company = company or self.company(partner_kind)
        return self._add(AssignmentRule(partner_kind=partner_kind, companies=[
            AssignmentRuleCompany(company_id=company.id, weight=1)], **kw))

    def action(self, substate, kind: str = "open_substate", group: str = "on_open", config=None, **kw):
        """An action saved as is (no validation): for tests that need a given shape quickly."""
        from models import Action

        position = kw.pop("position", len([a for a in substate.actions if a.group == group]))
        return self._add(Action(substate=substate, kind=kind, group=group, config=config or {},
                                position=position, **kw))

    def _add(self, record):
        db.session.add(record)
        db.session.commit()
        return record

    # -- activities and assignment (issue 4, A1/A2/A7) -------------------------------------------------

    def rule(self, partner_kind: str = "installer", companies=(), strategy: str = "round_robin", weights=None,
             **conditions):
        """An active assignment criterion naming `companies` (created when none given), with weights."""
        from models import AssignmentRule, AssignmentRuleCompany

        companies = list(companies) or [self.company(partner_kind)]
        weights = list(weights or [1] * len(companies))
        return self._add(AssignmentRule(partner_kind=partner_kind, strategy=strategy, active=True, companies=[
            AssignmentRuleCompany(company_id=c.id, weight=w) for c, w in zip(companies, weights, strict=True)],
            **conditions))

    def activity(self, opp, activity_type=None, description: str = "Call the client", **kw):
        from models import Activity

        return self._add(Activity(opportunity_id=opp.id, type_id=(activity_type or self.activity_type()).id,
                                  description=description, **kw))
