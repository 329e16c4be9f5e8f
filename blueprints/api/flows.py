"""Flows in the API, read only: opportunity types, and one type with its states, substates, their automatic
actions and triggers, as the flow designer shows them — to internal users only (partners 404, as the
designer's pages)."""

from __future__ import annotations

from collections import defaultdict

from flask import abort
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Action, OpportunityType, State, Substate, Trigger
from models.runs import TRIGGERS
from services.access import internal_required

from . import api_blueprint
from .paging import keyset_page
from .schemas import PageArgs, page_schema

blp = api_blueprint("api_flows", __name__, "types", "Opportunity types and their flows (read only; internal "
                    "users only).")


class TypeSchema(Schema):
    """An opportunity type, its name in the request's language."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    archived = fields.Boolean(required=True)


class DelaySchema(Schema):
    amount = fields.Integer(required=True)
    unit = fields.String(required=True, metadata={"description": "minutes, hours, days…"})


class ActionSchema(Schema):
    """An automatic action of a substate."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    kind_label = fields.String(required=True)
    when = fields.String(required=True, metadata={"enum": ["on_open", "on_close", "scheduled"]})
    when_label = fields.String(required=True)
    position = fields.Integer(required=True)
    delay = fields.Nested(DelaySchema, allow_none=True, required=True)
    respect_working_hours = fields.Boolean(required=True)
    enabled = fields.Boolean(required=True)
    channel_ids = fields.List(fields.Integer(), required=True,
                              metadata={"description": "The channels it runs for; empty: every channel."})


class TriggerSchema(Schema):
    """A trigger that opens its substate when its event happens on an opportunity."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    kind_label = fields.String(required=True)
    name = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    allow_back = fields.Boolean(required=True, metadata={"description": "May move the opportunity back."})


class SubstateSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True)
    archived = fields.Boolean(required=True)
    partner_can_act = fields.Boolean(required=True)
    requires_note = fields.Boolean(required=True)
    actions = fields.List(fields.Nested(ActionSchema), required=True)
    triggers = fields.List(fields.Nested(TriggerSchema), required=True)


class StateSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    position = fields.Integer(required=True)
    archived = fields.Boolean(required=True)
    substates = fields.List(fields.Nested(SubstateSchema), required=True)


class TypeDetailSchema(TypeSchema):
    """An opportunity type with its flow."""

    states = fields.List(fields.Nested(StateSchema), required=True)


TypePage = page_schema(TypeSchema, "TypePage")


class TypeListArgs(PageArgs):
    class Meta:
        unknown = EXCLUDE


def _type(opp_type: OpportunityType) -> dict:
    return {"id": opp_type.id, "name": opp_type.label, "archived": bool(opp_type.archived)}


def _action(action: Action) -> dict:
    from engine.kinds import KINDS

    delay = {"amount": action.delay_amount, "unit": action.delay_unit} \
        if action.delay_amount is not None and action.delay_unit else None
    return {"id": action.id, "kind": action.kind,
            "kind_label": str(KINDS[action.kind].label) if action.kind in KINDS else action.kind,
            "when": action.group, "when_label": str(TRIGGERS.get(action.group, action.group)),
            "position": action.position, "delay": delay, "respect_working_hours": bool(action.respect_working_hours),
            "enabled": bool(action.enabled), "channel_ids": [c.id for c in action.channels]}


def _trigger(trigger: Trigger) -> dict:
    from engine.trigger_types import TRIGGER_TYPES

    kind = TRIGGER_TYPES.get(trigger.kind)
    return {"id": trigger.id, "kind": trigger.kind, "kind_label": str(kind.label) if kind else trigger.kind,
            "name": trigger.name, "enabled": bool(trigger.enabled), "allow_back": bool(trigger.allow_back)}


@blp.route("")
@blp.arguments(TypeListArgs, location="query")
@blp.response(200, TypePage)
@internal_required
def list_types(args):
    """The opportunity types (archived ones too), newest first, a page at a time."""
    page = keyset_page(select(OpportunityType), OpportunityType.id, args)
    page["items"] = [_type(t) for t in page["items"]]
    return page


@blp.route("/<int:type_id>")
@blp.response(200, TypeDetailSchema)
@internal_required
def get_type(type_id: int):
    """One type with its states, substates, their actions and triggers, in the designer's order."""
    opp_type = db.session.execute(
        select(OpportunityType).where(OpportunityType.id == type_id)
        .options(selectinload(OpportunityType.states).selectinload(State.substates)
                 .selectinload(Substate.actions).selectinload(Action.channels))
    ).scalar_one_or_none()
    if opp_type is None or current_user.is_partner:
        abort(404)
    sub_ids = [s.id for s in opp_type.substates]
    triggers = defaultdict(list)
    for trigger in db.session.execute(select(Trigger).where(Trigger.substate_id.in_(sub_ids or [0]))
                                      .order_by(Trigger.position, Trigger.id)).scalars():
        triggers[trigger.substate_id].append(_trigger(trigger))
    states = [{"id": st.id, "name": st.label, "position": st.position, "archived": bool(st.archived),
               "substates": [{"id": s.id, "name": s.label, "position": s.position, "archived": bool(s.archived),
                              "partner_can_act": bool(s.partner_can_act), "requires_note": bool(s.requires_note),
                              "actions": [_action(a) for a in s.actions], "triggers": triggers[s.id]}
                             for s in st.substates]}
              for st in opp_type.states]
    return {**_type(opp_type), "states": states}
