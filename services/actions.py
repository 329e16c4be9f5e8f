"""Automatic actions of a substate: save with validation and prerequisites (D6, D7), order, enable,
duplicate, copy to a substate of another type (D8), delete."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from engine.kinds import Lookup, Missing, get_kind
from extensions import db
from models import Action, Channel, Substate
from models.flow import ACTION_GROUPS, DELAY_UNITS
from services import ServiceError
from services.validation import InvalidData

# A delay is a positive whole number of at most 365 days, in the unit chosen.
MAX_DELAY = {"minutes": 365 * 24 * 60, "hours": 365 * 24, "days": 365}


@dataclass
class ActionData:
    """What the add/edit form sends: the step-by-step choices and the kind's own config."""

    group: str
    kind: str
    config: dict = field(default_factory=dict)
    delay_amount: str | int | None = None
    delay_unit: str | None = None
    respect_working_hours: bool = False
    channel_ids: list[int] | None = None  # None: every channel


class ActionRefused(InvalidData):
    """Field messages (config fields as "config-<name>") plus the prerequisites that are missing."""

    def __init__(self, errors: dict[str, str], missing: list[Missing] | None = None) -> None:
        self.missing = list(missing or [])
        super().__init__({**errors, **{f"missing-{i}": str(m) for i, m in enumerate(self.missing)}})
        self.errors = errors


def delay_text(amount: int | None, unit: str | None) -> str:
    """"after 4 days", in the current language."""
    amount = amount or 0
    if unit == "minutes":
        return ngettext("after %(num)d minute", "after %(num)d minutes", amount)
    if unit == "hours":
        return ngettext("after %(num)d hour", "after %(num)d hours", amount)
    return ngettext("after %(num)d day", "after %(num)d days", amount)


def _clean_delay(data: ActionData, errors: dict) -> tuple[int | None, str | None]:
    unit = data.delay_unit if data.delay_unit in DELAY_UNITS else None
    raw = str(data.delay_amount if data.delay_amount is not None else "").strip()
    if unit is None:
        errors["delay_unit"] = _("Choose minutes, hours or days.")
        return None, None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DELAY[unit]:
        if unit == "days":
            errors["delay_amount"] = _("The delay must be a whole number of days from 1 to 365.")
        else:
            errors["delay_amount"] = _("The delay must be a whole number from 1 to %(max)d %(unit)s "
                                       "(at most 365 days).", max=MAX_DELAY[unit], unit=DELAY_UNITS[unit])
        return None, unit
    return int(raw), unit


def validate(substate: Substate, data: ActionData) -> tuple[dict, list[Channel]]:
    """The config to store and the channels, or ActionRefused naming every problem at once."""
    errors: dict[str, str] = {}
    missing: list[Missing] = []
    if data.group not in ACTION_GROUPS:
        errors["group"] = _("Choose when the action runs: on open, on close or scheduled.")
    elif data.group == "scheduled":
        _clean_delay(data, errors)
    config: dict = {}
    kind = get_kind(data.kind)
    if kind is None:
        errors["kind"] = _("Choose an action.")
    else:
        form = kind.build_form(substate, data=data.config)
        if form.validate():
            errors.update({f"config-{k}": v for k, v in kind.check(form, substate).items()})
            config = kind.config_of(form)
        else:
            errors.update({f"config-{name}": str(errs[0]) for name, errs in form.errors.items() if errs})
        missing = kind.prerequisites(substate)
    ids = sorted(set(data.channel_ids or []))
    channels = list(db.session.execute(select(Channel).where(Channel.id.in_(ids))).scalars()) if ids else []
    if data.channel_ids is not None and not ids:
        errors["channels"] = _("Choose at least one channel, or all channels.")
    elif len(channels) != len(ids):
        errors["channels"] = _("One of the chosen channels does not exist any more.")
    if errors or missing:
        raise ActionRefused(errors, missing)
    return config, channels


def save_action(substate: Substate, data: ActionData, action: Action | None = None) -> Action:
    """Create an action on the substate (last of its group), or update `action`; nothing saved if invalid."""
    config, channels = validate(substate, data)
    old_group = action.group if action else None
    if action is None:
        action = Action(substate=substate, enabled=True, position=_next_position(substate, data.group))
        db.session.add(action)
    elif old_group != data.group:
        action.position = _next_position(substate, data.group)
    action.group, action.kind, action.config = data.group, data.kind, config
    if data.group == "scheduled":
        action.delay_amount, action.delay_unit = int(str(data.delay_amount).strip()), data.delay_unit
        action.respect_working_hours = bool(data.respect_working_hours)
    else:
        action.delay_amount, action.delay_unit, action.respect_working_hours = None, None, False
    action.channels = channels
    db.session.flush()
    if old_group and old_group != data.group:
        _renumber_group(substate, old_group)
    return action


def _next_position(substate: Substate, group: str) -> int:
    """One past the last position in the group (read before the new action joins the session)."""
    with db.session.no_autoflush:
        top = db.session.scalar(
            select(func.max(Action.position)).where(Action.substate_id == substate.id, Action.group == group)
        )
    return 0 if top is None else top + 1


def _group_actions(substate: Substate, group: str) -> list[Action]:
    return list(db.session.execute(
        select(Action).where(Action.substate_id == substate.id, Action.group == group)
        .order_by(Action.position, Action.id)
    ).scalars())


def _renumber_group(substate: Substate, group: str, ordered: list[Action] | None = None) -> None:
    for index, action in enumerate(ordered if ordered is not None else _group_actions(substate, group)):
        action.position = index
    db.session.flush()
    db.session.expire(substate, ["actions"])


def set_enabled(action: Action, enabled: bool) -> Action:
    """Enable or disable an action; a disabled one stays configured but does not run."""
    action.enabled = enabled
    db.session.flush()
    return action


def delete_action(action: Action) -> None:
    """Delete an action and close the gap in its group's order."""
    substate, group = action.substate, action.group
    db.session.delete(action)
    db.session.flush()
    _renumber_group(substate, group)


def duplicate_action(action: Action) -> Action:
    """A copy of the action right after it, in the same group."""
    copy = _clone(action, action.substate, dict(action.config or {}))
    ordered = _group_actions(action.substate, action.group)
    ordered.remove(copy)
    ordered.insert(ordered.index(action) + 1, copy)
    _renumber_group(action.substate, action.group, ordered)
    return copy


def _clone(action: Action, substate: Substate, config: dict) -> Action:
    copy = Action(substate=substate, group=action.group, kind=action.kind, config=config,
                  delay_amount=action.delay_amount, delay_unit=action.delay_unit,
                  respect_working_hours=action.respect_working_hours, enabled=action.enabled,
                  channels=list(action.channels), position=_next_position(substate, action.group))
    db.session.add(copy)
    db.session.flush()
    return copy


def copy_action(action: Action, target: Substate) -> Action:
    """Replicate an action on a substate of another type (D8): the substates it refers to are matched
    by name in the target's type, and the copy is validated as if it were entered there."""
    if target.id == action.substate_id:
        raise ServiceError(_("Choose another substate: use Duplicate to copy an action within its substate."), 422)
    config = dict(action.config or {})
    if target.state.type_id != action.substate.state.type_id and "substate_id" in config:
        config["substate_id"] = _same_name_in(target, config["substate_id"])
    data = ActionData(group=action.group, kind=action.kind, config=config, delay_amount=action.delay_amount,
                      delay_unit=action.delay_unit, respect_working_hours=action.respect_working_hours,
                      channel_ids=[c.id for c in action.channels] or None)
    try:
        clean, _channels = validate(target, data)
    except ActionRefused as err:
        raise ServiceError(_("The action cannot be copied to “%(name)s”: %(reason)s",
                             name=target.label, reason=err.message), 422) from err
    return _clone(action, target, clean)


def _same_name_in(target: Substate, substate_id: int) -> int:
    referred = db.session.get(Substate, substate_id)
    if referred is not None:
        for sub in target.state.type.substates:
            if sub.name.casefold() == referred.name.casefold() and sub.id != target.id:
                return sub.id
    raise ServiceError(_("“%(type)s” has no substate named “%(name)s” for this action to refer to: add it "
                         "there first.", type=target.state.type.label,
                         name=referred.label if referred else "?"), 422)


def reorder_group(substate: Substate, group: str, ids: list[int]) -> None:
    """Save a group's order as dragged: `ids` must list exactly that group's actions."""
    current = _group_actions(substate, group)
    by_id = {a.id: a for a in current}
    if group not in ACTION_GROUPS or sorted(ids) != sorted(by_id):
        raise ServiceError(_("The actions were changed meanwhile: the order shown now is the saved one."), 409)
    _renumber_group(substate, group, [by_id[i] for i in ids])


@dataclass
class ActionRow:
    action: Action
    label: str
    summary: str
    delay: str | None


def grouped(substate: Substate) -> dict[str, list[ActionRow]]:
    """The substate's actions by group, in order, with a one-line summary each (the panel's lists)."""
    actions = db.session.execute(
        select(Action).options(selectinload(Action.channels))
        .where(Action.substate_id == substate.id).order_by(Action.position, Action.id)
    ).scalars()
    lookup = Lookup()
    groups: dict[str, list[ActionRow]] = {g: [] for g in ACTION_GROUPS}
    for action in actions:
        kind = get_kind(action.kind)
        label = str(kind.label) if kind else action.kind
        summary = kind.summary(action.config or {}, lookup) if kind else ""
        delay = delay_text(action.delay_amount, action.delay_unit) if action.group == "scheduled" else None
        groups.setdefault(action.group, []).append(ActionRow(action, label, summary, delay))
    return groups
