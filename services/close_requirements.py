"""What a person must give before a substate closes (D4, T2): the fields it requires (its Required fields tab,
and the field of an active process automation tied to it) and a note. The page asks for what is missing
inline, with each field's own input; the server refuses the close (422) until all of it is there."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import HistoryEntry, Opportunity, ProcessAutomation, Substate, SubstateRequirement, User
from services import ServiceError
from services import field_values as fv
from services.locale_input import InputRefused

NOTE_MAX = 4000


@dataclass
class Requirements:
    """The fields a substate requires (in the order they were added, automation's first) and the note."""

    fields: list[fv.FieldRef] = field(default_factory=list)
    note: bool = False


class CloseNeedsInput(ServiceError):
    """The close was refused until these are given: missing fields, refused values, the note (422)."""

    def __init__(self, substate: Substate, missing: list[fv.FieldRef], errors: dict[str, str], note: str | None):
        names = ", ".join(f"“{f.label}”" for f in missing)
        message = (_("To close “%(name)s”, fill in %(fields)s.", name=substate.label, fields=names) if missing
                   else _("To close “%(name)s”, write a note.", name=substate.label) if note
                   else " ".join(errors.values()))
        super().__init__(message, 422)
        self.substate, self.missing, self.errors, self.note_error = substate, missing, errors, note


def requirements_of(opp: Opportunity, substate: Substate) -> Requirements:
    """What closing this substate of this opportunity by hand requires (custom fields of other types and
    archived ones are not asked for: the opportunity cannot have them)."""
    refs: list[str] = []
    automation = db.session.execute(select(ProcessAutomation).where(
        ProcessAutomation.substate_id == substate.id, ProcessAutomation.active.is_(True))).scalar_one_or_none()
    if automation is not None and automation.field_ref:
        refs.append(automation.field_ref)
    for req in db.session.execute(select(SubstateRequirement).where(SubstateRequirement.substate_id == substate.id)
                                  .order_by(SubstateRequirement.id)).scalars():
        refs.append(f"custom:{req.custom_field_id}" if req.custom_field_id else f"system:{req.system_field}")
    fields = []
    for ref in dict.fromkeys(refs):
        resolved = fv.resolve(ref)
        custom = resolved.custom if resolved else None
        if resolved and not (custom and (custom.archived or not custom.applies_to(opp.type_id))):
            fields.append(resolved)
    return Requirements(fields, bool(substate.requires_note))


def missing_fields(opp: Opportunity, substate: Substate) -> list[fv.FieldRef]:
    """The required fields still empty on the opportunity."""
    req = requirements_of(opp, substate)
    values = fv.values_of(opp, req.fields)
    return [f for f in req.fields if not fv.is_filled(values[f.ref])]


def check(opp: Opportunity, substate: Substate, values: dict | None, note: str | None,
          canonical: bool = False) -> tuple[dict, str | None]:
    """Refuse (CloseNeedsInput) unless every required field is filled or given a valid value and the note is
    written when asked for; returns the parsed values to store once closed, and the note. `canonical`: the
    values are JSON values (the API), not text in the page's language."""
    read = fv.parse_canonical if canonical else fv.parse
    values, req = values or {}, requirements_of(opp, substate)
    current = fv.values_of(opp, req.fields)
    parsed, errors, missing = {}, {}, []
    for f in req.fields:
        if fv.is_filled(current[f.ref]):
            continue
        try:
            value = read(f, values.get(f.ref))
        except InputRefused as err:
            errors[f.ref] = err.message
            continue
        if value is None:
            missing.append(f)
        else:
            parsed[f.ref] = (f, value)
    note = (note or "").strip()
    note_error = None
    if req.note and not note:
        note_error = _("Write a note to close this substate.")
    elif len(note) > NOTE_MAX:
        note_error = _("At most %(max)d characters.", max=NOTE_MAX)
    if missing or errors or note_error:
        raise CloseNeedsInput(substate, missing, errors, note_error)
    return parsed, (note if req.note or note else None)


def apply(opp: Opportunity, substate: Substate, parsed: dict, note: str | None, user: User, chain) -> None:
    """After the close: save the values it asked for (announced as asked by this close) and the note,
    which goes to the timeline as written by the user."""
    for f, value in parsed.values():
        fv.store(opp, f, value, user, chain=chain, closing_substate_id=substate.id)
    if note:
        db.session.add(HistoryEntry(opportunity_id=opp.id, author_id=user.id,
                                    text=_("Note on closing “%(name)s”: %(note)s", name=substate.label, note=note)))

