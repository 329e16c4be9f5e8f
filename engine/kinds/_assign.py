"""Shared by A1 and A2: assign the opportunity to a partner company chosen by the assignment criteria."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from wtforms import BooleanField, Form

from engine.kinds.base import Kind, Lookup, Missing, exists
from models import AssignmentRule, AssignmentRuleCompany
from models.runs import REASONS

# Why a run was skipped, shown in the reader's language (the engine keeps the code on the run).
REASONS.setdefault("already_assigned", _l("The opportunity already had a company of this kind assigned."))


class AssignKind(Kind):
    claim_with_first_write = True  # database statements only: claimed, run and recorded in one commit

    partner_kind = ""
    needs_criteria = ""

    class ConfigForm(Form):
        reassign = BooleanField(_l("Reassign when the opportunity already has one"))

    def prerequisites(self, substate) -> list[Missing]:
        """An active criterion for this partner kind that applies to the substate's type and names a company."""
        usable = exists(
            AssignmentRule,
            AssignmentRule.partner_kind == self.partner_kind,
            AssignmentRule.active.is_(True),
            or_(AssignmentRule.type_id.is_(None), AssignmentRule.type_id == substate.state.type_id),
            AssignmentRule.companies.any(AssignmentRuleCompany.weight > 0),
        )
        return [] if usable else [Missing(str(self.needs_criteria), "assignment_criteria")]

    def config_of(self, form) -> dict:
        return {"reassign": bool(form.reassign.data)}

    def summary(self, config: dict, lookup: Lookup) -> str:
        text = str(_l("by the assignment criteria"))
        if config.get("reassign"):
            text += " · " + str(_l("reassigns"))
        return text

    def execute(self, run) -> dict:
        """Assign by the criteria in the run's transaction (services.assignment documents the precedence
        and the strategies); an opportunity already assigned is skipped unless the action reassigns."""
        from engine.errors import PermanentError, Skip
        from services import assignment as svc

        opp = run.opportunity
        if getattr(opp, svc.FIELD[self.partner_kind]) is not None and not (run.config or {}).get("reassign"):
            raise Skip("already_assigned")
        try:
            done = svc.assign(opp, self.partner_kind, run_id=run.id)
        except svc.NoCandidate as err:
            raise PermanentError(err.message) from err
        return {"assignment_id": done.id, "company_id": done.company_id, "company": done.company.name,
                "rule_id": done.rule_id, "strategy": done.strategy, "unchanged": done.run_id != run.id}
