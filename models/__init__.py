"""SQLAlchemy 2.0 models by domain; importing this package registers every table."""

from models.accounts import PERMISSIONS, ROLES, Channel, PartnerCompany, User, UserPermission
from models.flow import Action, OpportunityType, State, Substate
from models.opportunity import Customer, Opportunity, OpportunitySubstate, SubstateEvent

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Action",
    "Channel",
    "Customer",
    "Opportunity",
    "OpportunitySubstate",
    "OpportunityType",
    "PartnerCompany",
    "State",
    "Substate",
    "SubstateEvent",
    "User",
    "UserPermission",
]
