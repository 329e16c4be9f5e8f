"""What the opportunity page shows, gathered by the route rather than queried from the templates.

The page and each panel that an htmx endpoint sends back alone read the same names, so a panel's
context function serves both (docs/architecture.md: partials have one source)."""

from flask_login import current_user

from blueprints.tasks.context import opportunity_tasks_context
from models import Opportunity
from services import activities as activity_svc
from services import assignment as assignment_svc
from services import custom_fields as custom_field_svc
from services import field_values as fv
from services import substates as substate_svc
from services import timeline as timeline_svc
from services.report_templates import sent_files


def flow_context(opp: Opportunity) -> dict:
    return {"opp": opp, "flow": substate_svc.flow_of(opp), "may_act": substate_svc.may_act}


def activities_context(opp: Opportunity) -> dict:
    may_complete = activity_svc.may_complete(current_user)
    downloadable = {f.id for f in sent_files(opp, current_user)}
    return {"opp": opp, "activities": activity_svc.activities_of(opp),
            "may_complete_activity": lambda activity: may_complete and not activity.is_completed,
            # Scheduled activities (M5): their attachment is downloaded through the files route's own rule.
            "may_download_file": lambda stored: stored.id in downloadable,
            "duration_text": activity_svc.duration_text, "colour_name": activity_svc.colour_name}


def assignments_context(opp: Opportunity) -> dict:
    return {"opp": opp, "assignments": assignment_svc.assignments_of(opp, current_user),
            "may_answer_assignment": lambda assignment: assignment_svc.may_answer(current_user, assignment)}


def may_edit_fields(user) -> bool:
    """Who fills the opportunity's fields: internal users who may edit opportunities (as its Edit page)."""
    return not user.is_partner and user.can("opportunities.edit")


def fields_context(opp: Opportunity, editing: str | None = None, error: str | None = None, typed=None,
                   announce: str | None = None) -> dict:
    """The Fields panel: each field with its value as typed and as shown; `editing` names the one whose
    input is open (with the refused text `typed` and its `error`)."""
    refs = custom_field_svc.fields_of(opp)
    values = fv.values_of(opp, refs)
    may_edit = may_edit_fields(current_user)
    return {"opp": opp, "field_rows": [(f, values[f.ref], fv.display(f, values[f.ref])) for f in refs],
            "may_edit_fields": may_edit, "editing_field": editing if may_edit else None,
            "field_error": error, "field_typed": typed, "fields_announce": announce}


def page_context(opp: Opportunity) -> dict:
    """Everything the whole page needs: flow, fields, activities, assignments, files sent and the timeline."""
    return {**flow_context(opp), **fields_context(opp), **activities_context(opp), **assignments_context(opp),
            "sent_files": sent_files(opp, current_user), "timeline": timeline_svc.items(opp.id, current_user),
            **opportunity_tasks_context(opp)}
