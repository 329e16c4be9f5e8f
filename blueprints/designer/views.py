"""Helpers the designer routes share: look-ups that 404 outside the type, and one way to render a panel."""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from blueprints.designer.forms import SubstateForm
from extensions import db
from models import Action, OpportunityType, State, Substate, Trigger
from models.flow import ACTION_GROUPS
from services import actions as action_svc
from services import dry_run as dry_run_svc
from services import flowmap
from services import substate_requirements as required_svc
from services import triggers as trigger_svc

EDIT_PERMISSION = "opportunity_states.modify"
TABS = ("actions", "triggers", "required", "linked", "settings", "dryrun")


def can_edit() -> bool:
    return current_user.can(EDIT_PERMISSION)


def wants_fragment() -> bool:
    """An htmx request for a part of the page (a history restore needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def automation_url(automation) -> str | None:
    """The process automation's own page (T2), for administrators (the only ones it opens for), when this
    installation has it; others read its name without a link."""
    if automation is None or not current_user.is_admin or "automations.detail" not in current_app.view_functions:
        return None
    return url_for("automations.detail", automation_id=automation.id)


def get_type(type_id: int) -> OpportunityType:
    """The type with its states and substates loaded in two queries, or 404."""
    opp_type = db.session.execute(
        select(OpportunityType).where(OpportunityType.id == type_id)
        .options(selectinload(OpportunityType.states).selectinload(State.substates))
    ).scalar_one_or_none()
    if opp_type is None:
        abort(404)
    return opp_type


def get_state(opp_type: OpportunityType, state_id: int) -> State:
    state = db.session.get(State, state_id)
    if state is None or state.type_id != opp_type.id:
        abort(404)
    return state


def get_substate(opp_type: OpportunityType, substate_id: int) -> Substate:
    sub = db.session.get(Substate, substate_id)
    if sub is None or sub.state.type_id != opp_type.id:
        abort(404)
    return sub


def get_action(opp_type: OpportunityType, action_id: int) -> Action:
    action = db.session.get(Action, action_id)
    if action is None or action.substate.state.type_id != opp_type.id:
        abort(404)
    return action


def get_trigger(opp_type: OpportunityType, trigger_id: int) -> Trigger:
    trigger = db.session.get(Trigger, trigger_id)
    if trigger is None or trigger.substate.state.type_id != opp_type.id:
        abort(404)
    return trigger


def board_context(opp_type: OpportunityType) -> dict:
    """What the board shows besides the flow: action counts and the substates caught in loops."""
    counts = dict(db.session.execute(
        select(Action.substate_id, func.count(Action.id))
        .join(Substate, Action.substate_id == Substate.id).join(State, Substate.state_id == State.id)
        .where(State.type_id == opp_type.id).group_by(Action.substate_id)
    ).all())
    loops = flowmap.loops_of_type(opp_type.id)
    looping = set().union(*(loop.substate_ids for loop in loops)) if loops else set()
    return {"opp_type": opp_type, "action_counts": counts, "looping": looping, "can_edit": can_edit(),
            "asks_input": required_svc.asking_input(opp_type)}


def render_board(opp_type: OpportunityType, status: int = 200, message: str | None = None,
                 announce: str | None = None):
    """The board alone; `announce` is read out to screen readers once it is swapped in (focus.js)."""
    return render_template("designer/_board.html", board_message=message, announce=announce,
                           **board_context(opp_type)), status


def render_panel(opp_type: OpportunityType, panel: str, status: int = 200, selected: int | None = None, **ctx):
    """The side panel alone for htmx, else the whole designer page with that panel open (bookmarkable)."""
    ctx = {"opp_type": opp_type, "panel": panel, "can_edit": can_edit(), "selected": selected, **ctx}
    if wants_fragment():
        return render_template("designer/_panel.html", **ctx), status
    return render_template("designer/type.html", **{**board_context(opp_type), **ctx}), status


def flow_changed(response_and_status, push_url: str | None = None):
    """Tell the page the flow changed (the board reloads itself), optionally pushing the panel's URL."""
    body, status = response_and_status
    headers = {"HX-Trigger": "flow-changed"}
    if push_url:
        headers["HX-Push-Url"] = push_url
    return body, status, headers


def render_substate(opp_type: OpportunityType, sub: Substate, tab: str, status: int = 200, form=None, **ctx):
    """The substate's panel on one of its tabs (D4), with a warning when its actions could loop."""
    if tab == "settings" and form is None:
        form = SubstateForm(formdata=None)
        form.fill_names(sub)
        form.partner_can_act.data = sub.partner_can_act
    if tab == "actions":
        ctx["groups"] = action_svc.grouped(sub)
    if tab == "triggers":
        ctx["triggers"] = trigger_svc.rows(sub)
    if tab in ("triggers", "required", "linked"):
        automation = required_svc.automation_of(sub)
        ctx.update(automation=automation, automation_field=required_svc.automation_field(automation),
                   automation_url=automation_url(automation), required=required_svc.rows(sub))
    if tab == "required":
        ctx.setdefault("field_choices", required_svc.field_choices(sub))
    if tab == "dryrun":
        ctx.setdefault("opportunity_choices", dry_run_svc.recent_opportunities(opp_type))
        ctx["dry_url"] = url_for("designer.dry_run_substate", type_id=opp_type.id, substate_id=sub.id)
    loops = [loop for loop in flowmap.loops_of_type(opp_type.id) if sub.id in loop.substate_ids]
    return render_panel(opp_type, "designer/_panel_substate.html", status, selected=sub.id, substate=sub,
                        tab=tab, form=form, loops=loops, group_labels=ACTION_GROUPS, **ctx)
