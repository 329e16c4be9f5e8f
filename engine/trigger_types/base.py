"""What every trigger type shares (docs/architecture.md, "Events and triggers"): the TriggerType base, the
fields every trigger has (name, "change as", "allow moving back") and the user and substate choices."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, Form, StringField
from wtforms.validators import Length

from engine.kinds.base import Lookup, RefField, quoted
from extensions import db
from models import User

NAME_MAX = 160


def name_field() -> StringField:
    """The trigger's name; left empty, the type's descriptive default is used."""
    return StringField(
        _l("Name"), validators=[Length(max=NAME_MAX, message=_l("At most %(max)d characters."))],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
        description=_l("Left empty, a name is made from what the trigger does."))


def as_user_field() -> RefField:
    """ "Change as": the timeline records the move on this user's behalf (empty: automation)."""
    return RefField(_l("Change as"), missing_message=_l("The chosen user does not exist or is not active."),
                    description=_l("The opportunity's timeline records the move as made by this user. "
                                   "Empty: by automation."))


def allow_back_field() -> BooleanField:
    return BooleanField(_l("Allow moving back"),
                        description=_l("Off: the trigger never opens this substate when the opportunity already "
                                       "stands further on in the flow."))


def user_pairs(keep: int | None = None, internal: bool = False) -> list[tuple[int, str]]:
    """Active users (internal ones only, if asked) by name, plus the one already chosen."""
    stmt = select(User.id, User.name, User.active, User.role).order_by(User.name, User.id)
    return [(uid, name) for uid, name, active, role in db.session.execute(stmt)
            if (active and not (internal and role == "partner")) or uid == keep]


def substate_groups(substate, keep: int | None = None) -> dict[str, list[tuple[int, str]]]:
    """The substates of the trigger's type, grouped by state (archived ones left out, but the one `keep`)."""
    groups = {}
    for state in substate.state.type.states:
        pairs = [(s.id, s.label) for s in state.substates if not (s.archived or state.archived) or s.id == keep]
        if pairs:
            groups[state.label] = pairs
    return groups


class TriggerType:
    """A trigger type: key, label, config form (with the common fields), conditions, summary, flow-map
    edges, and `subscribe()`, which connects its receiver to the services' event it listens to."""

    key = ""
    label = ""
    help = ""
    # Fields of the config form shown together, in order: [(legend, [field names])].
    sections: list[tuple[object, list[str]]] = []

    class ConfigForm(Form):
        name = name_field()
        as_user_id = as_user_field()
        allow_back = allow_back_field()

    @property
    def record_kind(self) -> str:
        """The kind of the runs that record this type's firings (models.runs.RECORD_KINDS)."""
        return f"trigger_{self.key}"

    def build_form(self, substate, formdata=None, data=None, saved=None) -> Form:
        """The config form with its choices filled for this substate; the `saved` trigger's own choices
        stay valid even if no longer offered (a user deactivated since)."""
        form = self.ConfigForm(formdata=formdata, data=data or {}, prefix="config")
        form.as_user_id.set_records(user_pairs(saved.as_user_id if saved else None, internal=True))
        self.fill(form, substate, (saved.config or {}) if saved else {})
        return form

    def fill(self, form: Form, substate, saved: dict) -> None:
        """Put the current records in the type's own selects (and the `saved` config's choices)."""

    def check(self, form: Form, substate) -> dict[str, str]:
        """Cross-field checks after the form validated: {field name: message}."""
        return {}

    def config_of(self, form: Form) -> dict:
        """The type's own JSON config (name, "change as" and "allow moving back" are the trigger's columns)."""
        common = {"name", "as_user_id", "allow_back"}
        return {name: f.data for name, f in form._fields.items() if name not in common}

    def default_name(self, config: dict, substate) -> str:
        return f"{self.label} → {substate.label}"

    def summary(self, config: dict, lookup: Lookup) -> str:
        """One line describing the type's own config, for the panel's list."""
        return str(self.label)

    def substate_refs(self, config: dict) -> list[int]:
        """Substates the config refers to (deleting one of them is refused)."""
        return []

    def map_sources(self, config: dict, task_makers: set[int]) -> list[int]:
        """The substates the flow map draws this trigger's edge from (none: no edge)."""
        return []

    def edge_label(self, config: dict) -> str:
        return str(self.label)

    def subscribe(self) -> None:
        """Connect the receiver to the services' event (connecting twice is harmless)."""


def common_summary(trigger, lookup: Lookup) -> list[str]:
    """The parts of a summary every type shares: on whose behalf, and whether it may move back."""
    parts = []
    if trigger.as_user_id:
        parts.append(str(_l("as %(name)s", name=quoted(lookup.name(User, trigger.as_user_id)))))
    if trigger.allow_back:
        parts.append(str(_l("may move back")))
    return parts
