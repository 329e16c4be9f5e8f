"""SQLAlchemy 2.0 models by domain; importing this package registers every table."""

from models.accounts import PERMISSIONS, ROLES, Channel, PartnerCompany, User, UserPermission, UserSession
from models.api import ApiToken
from models.calendar_days import Absence, Holiday
from models.catalog import (
    ActivityType,
    AssignmentRule,
    AssignmentRuleCompany,
    EmailTemplate,
    ExportTemplate,
    ExternalSourceAction,
    ReportTemplate,
    SmtpCredential,
)
from models.comms import OutgoingEmail
from models.fields import CustomField, FieldValue, ProcessAutomation, SubstateRequirement
from models.files import StoredFile
from models.flow import Action, OpportunityType, State, Substate
from models.notifications import Notification
from models.opportunity import Customer, Opportunity, OpportunitySubstate, SubstateEvent
from models.progress import LongJob
from models.runs import ActionRun
from models.search_index import create_trigram_indexes
from models.settings import AppSetting
from models.signatures import ExternalSource, SignatureRequest
from models.tasks import CalendarFeed, HistoryEntry, Location, Task, TaskPerson, TaskStatusChange, Trigger
from models.versions import FlowChange
from models.webhooks import WebhookDelivery, WebhookSubscription
from models.work import Activity, Assignment

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Absence",
    "Action",
    "ActionRun",
    "ApiToken",
    "Activity",
    "ActivityType",
    "AppSetting",
    "Assignment",
    "AssignmentRule",
    "AssignmentRuleCompany",
    "CalendarFeed",
    "Channel",
    "Customer",
    "CustomField",
    "FieldValue",
    "FlowChange",
    "ProcessAutomation",
    "SubstateRequirement",
    "EmailTemplate",
    "ExportTemplate",
    "ExternalSource",
    "ExternalSourceAction",
    "HistoryEntry",
    "Holiday",
    "Location",
    "LongJob",
    "create_trigram_indexes",
    "Opportunity",
    "OpportunitySubstate",
    "Notification",
    "OpportunityType",
    "OutgoingEmail",
    "PartnerCompany",
    "ReportTemplate",
    "SignatureRequest",
    "SmtpCredential",
    "State",
    "StoredFile",
    "Substate",
    "SubstateEvent",
    "Task",
    "TaskPerson",
    "TaskStatusChange",
    "Trigger",
    "User",
    "UserPermission",
    "UserSession",
    "WebhookDelivery",
    "WebhookSubscription",
]
