"""What the opportunity page shows, gathered by the route rather than queried from the templates.

The page and each panel that an htmx endpoint sends back alone read the same names, so a panel's
context function serves both (docs/architecture.md: partials have one source)."""

from flask_login import current_user

from blueprints.opportunities.forms import LinkedTaskForm
from blueprints.tasks.context import opportunity_tasks_context
from blueprints.tasks.forms import people_choices
from models import Opportunity
from services import activities as activity_svc
from services import assignment as assignment_svc
from services import close_requirements
from services import custom_fields as custom_field_svc
from services import field_values as fv
from services import linked_tasks as linked_svc
from services import substates as substate_svc
from services import tasks as task_svc
from services import timeline as timeline_svc
from services.report_templates import sent_files


def close_needs(opp: Opportunity, flow) -> dict[int, tuple[list[str], bool]]:
    """For each open substate the user may close: the required fields still empty and whether a note is
    asked for (the hint shown before Close is pressed); one query for all the values."""
    reqs = {row.substate.id: close_requirements.requirements_of(opp, row.substate)
            for _state, rows in flow for row in rows
            if row.status == "open" and substate_svc.may_act(current_user, row.substate)}
    values = fv.values_of(opp, [f for req in reqs.values() for f in req.fields])
    needs = {}
    for sid, req in reqs.items():
        empty = [f"“{f.label}”" for f in req.fields if not fv.is_filled(values[f.ref])]
        if empty or req.note:
            needs[sid] = (empty, req.note)
    return needs


def flow_context(opp: Opportunity, close_prompt: dict | None = None, linked_form: LinkedTaskForm | None = None,
                 announce: str | None = None, flow=None, people=None) -> dict:
    """The flow panel: substates with their buttons, what closing each needs, and their linked tasks (T3)
    with an "Add activity" form under each open one the user may act on (up to three tasks). `flow` and
    `people`: flow_of(opp) and people_choices(opp) when the caller has them already."""
    flow = substate_svc.flow_of(opp) if flow is None else flow
    linked = linked_svc.linked_tasks(opp)
    forms = {}
    people = None if people is None else [(0, "—"), *people]
    for _state, rows in flow:
        for row in rows:
            sub = row.substate
            if row.status != "open" or not substate_svc.may_act(current_user, sub):
                continue
            if linked_form is not None and linked_form.substate_id == sub.id:
                forms[sub.id] = linked_form
            elif len(linked.get(sub.id, [])) < linked_svc.MAX_LINKED:
                people = people if people is not None else [(0, "—"), *people_choices(opp)]
                form = LinkedTaskForm(formdata=None, prefix=f"linked-{sub.id}")
                form.responsible_id.choices, form.responsible_id.data = people, opp.owner_id or 0
                forms[sub.id] = form
    return {"opp": opp, "flow": flow, "may_act": substate_svc.may_act, "close_needs": close_needs(opp, flow),
            "close_prompt": close_prompt, "linked": linked, "linked_forms": forms,
            "linked_max": linked_svc.MAX_LINKED, "flow_announce": announce,
            "may_change_task": lambda task: task_svc.may_change(current_user, task)}


def activities_context(opp: Opportunity, files: list | None = None) -> dict:
    """The activities panel; `files`: the opportunity's sent files when the caller has read them already."""
    may_complete = activity_svc.may_complete(current_user)
    downloadable = {f.id for f in (sent_files(opp, current_user) if files is None else files)}
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


def page_context(opp: Opportunity, **fields) -> dict:
    """Everything the whole page needs: flow, fields (`fields`: fields_context's arguments), activities,
    assignments, files sent and the timeline."""
    files, flow = sent_files(opp, current_user), substate_svc.flow_of(opp)
    # Who may take a task: the task form's and the linked-task forms' choices (partners get neither form).
    people = None if current_user.is_partner else people_choices(opp)
    return {**flow_context(opp, flow=flow, people=people), **fields_context(opp, **fields),
            **activities_context(opp, files), **assignments_context(opp), "sent_files": files,
            "timeline": timeline_svc.items(opp.id, current_user),
            **opportunity_tasks_context(opp, flow=flow, people=people)}
