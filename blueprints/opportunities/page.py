"""What the opportunity page shows, gathered by the route rather than queried from the templates.

The page and each panel that an htmx endpoint sends back alone read the same names, so a panel's
context function serves both (docs/architecture.md: partials have one source)."""

from flask_login import current_user

from blueprints.tasks.context import opportunity_tasks_context
from models import Opportunity
from services import activities as activity_svc
from services import assignment as assignment_svc
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


def page_context(opp: Opportunity) -> dict:
    """Everything the whole page needs: flow, activities, assignments, files sent and the timeline."""
    return {**flow_context(opp), **activities_context(opp), **assignments_context(opp),
            "sent_files": sent_files(opp, current_user), "timeline": timeline_svc.items(opp.id, current_user),
            **opportunity_tasks_context(opp)}
