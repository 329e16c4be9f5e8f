"""An opportunity's substates in the API (SPEC E1, D4): where it stands on each, and opening and closing one
through services.substates — the same rules as the flow panel: partners only where the substate lets them,
a close refused (422) until its required fields and note are given, a substate in the wrong state 409."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields

from extensions import db
from models import Opportunity
from services import close_requirements
from services import field_values as fv
from services import substates as substate_svc
from services.access import get_opportunity_or_404
from services.close_requirements import CloseNeedsInput
from services.validation import InvalidData

from . import api_blueprint
from .problems import for_status
from .schemas import RefSchema, at_most

blp = api_blueprint("api_substates", __name__, "opportunities",
                    "The substates of an opportunity's flow: their status, opening and closing them.")

NOTE_MAX = 10000


class CloseNeedsSchema(Schema):
    note = fields.Boolean(required=True, metadata={"description": "Whether closing asks for a note."})
    fields = fields.List(fields.String(), required=True,  # last: the name shadows marshmallow's module
                         metadata={"description": "Keys of the required fields still empty."})


class OpportunitySubstateSchema(Schema):
    """A substate of the opportunity's flow and where the opportunity stands on it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    state = fields.Nested(RefSchema, required=True)
    status = fields.String(required=True, metadata={"description": "pending (never opened), open or closed."})
    opened_at = fields.DateTime(allow_none=True, required=True)
    opened_by = fields.Nested(RefSchema, allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    closed_by = fields.Nested(RefSchema, allow_none=True, required=True)
    may_act = fields.Boolean(required=True, metadata={"description": "Whether the token's user may open or "
                                                                     "close it."})
    close_needs = fields.Nested(CloseNeedsSchema, allow_none=True, required=True,
                                metadata={"description": "For an open substate the user may close: what "
                                                         "closing it needs; else null."})


class SubstateListSchema(Schema):
    opportunity = fields.Nested(RefSchema, required=True)
    items = fields.List(fields.Nested(OpportunitySubstateSchema), required=True)


class CloseSchema(Schema):
    values = fields.Dict(keys=fields.String(validate=at_most(60)), values=fields.Raw(allow_none=True),
                         load_default=dict, metadata={
                             "description": "The required fields still empty, by key, as canonical JSON values."})
    note = fields.String(load_default="", validate=at_most(NOTE_MAX),
                         metadata={"description": "The note, when the substate asks for one."})


def _ref(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user else None


def _dump(opp: Opportunity, row: substate_svc.SubstateRow) -> dict:
    sub, record = row.substate, row.record
    may_act = substate_svc.may_act(current_user, sub)
    needs = None
    if row.status == "open" and may_act:
        req = close_requirements.requirements_of(opp, sub)
        values = fv.values_of(opp, req.fields)
        needs = {"fields": [fv.key_of(f) for f in req.fields if not fv.is_filled(values[f.ref])], "note": req.note}
    return {"id": sub.id, "name": sub.label, "state": {"id": sub.state.id, "name": sub.state.label},
            "status": row.status, "opened_at": record.opened_at if record else None,
            "opened_by": _ref(record.opened_by) if record else None,
            "closed_at": record.closed_at if record else None,
            "closed_by": _ref(record.closed_by) if record else None, "may_act": may_act, "close_needs": needs}


def _row(opp: Opportunity, substate_id: int) -> dict:
    """The substate's row after a change."""
    for _state, rows in substate_svc.flow_of(opp):
        for row in rows:
            if row.substate.id == substate_id:
                return _dump(opp, row)
    raise AssertionError("a substate just changed is in the flow")  # pragma: no cover


@blp.route("/<int:opportunity_id>/substates")
@blp.response(200, SubstateListSchema)
def list_substates(opportunity_id: int):
    """The opportunity's flow, state by state: each substate with its status and when it opened and closed."""
    opp = get_opportunity_or_404(opportunity_id)
    return {"opportunity": {"id": opp.id, "name": opp.name},
            "items": [_dump(opp, row) for _state, rows in substate_svc.flow_of(opp) for row in rows]}


@blp.route("/<int:opportunity_id>/substates/<int:substate_id>/open", methods=["POST"])
@blp.response(200, OpportunitySubstateSchema)
def open_substate(opportunity_id: int, substate_id: int):
    """Open a substate: its on-open actions are queued; 409 when it is open already, 403 when the user may not."""
    opp = get_opportunity_or_404(opportunity_id)
    substate_svc.open_substate(opp, substate_id, current_user)
    db.session.commit()
    return _row(opp, substate_id)


def _refs_of(opp: Opportunity, values: dict) -> dict:
    """The close's values by field reference; a key the opportunity has no field for is refused."""
    refs, errors = {}, {}
    for key, value in values.items():
        field = fv.field_by_key(opp, key)
        if field is None:
            errors[f"values.{key}"] = _("This field does not exist on this opportunity.")
        else:
            refs[field.ref] = value
    if errors:
        raise InvalidData(errors)
    return refs


@blp.route("/<int:opportunity_id>/substates/<int:substate_id>/close", methods=["POST"])
@blp.arguments(CloseSchema)
@blp.response(200, OpportunitySubstateSchema)
def close_substate(data, opportunity_id: int, substate_id: int):
    """Close a substate: its on-close actions are queued. When it needs fields or a note still missing, 422
    lists them ("values.<key>", "note") and nothing changes; send them in `values` and `note`."""
    opp = get_opportunity_or_404(opportunity_id)
    values = _refs_of(opp, data["values"])
    try:
        substate_svc.close_substate(opp, substate_id, current_user, values=values, note=data["note"], canonical=True)
    except CloseNeedsInput as err:
        db.session.rollback()
        return for_status(422, err.message, _needs(err))
    db.session.commit()
    return _row(opp, substate_id)


def _needs(err: CloseNeedsInput) -> dict:
    """What the refused close needs, per input: each missing or refused field and the note."""
    errors = {}
    for field in err.missing:
        errors[f"values.{fv.key_of(field)}"] = _("Fill this in to close “%(name)s”.", name=err.substate.label)
    for ref, message in err.errors.items():
        field = fv.resolve(ref)
        errors[f"values.{fv.key_of(field) if field else ref}"] = message
    if err.note_error:
        errors["note"] = err.note_error
    return errors
