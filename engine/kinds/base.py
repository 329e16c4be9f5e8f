"""What every action kind shares: the Kind base, prerequisite notes, reference fields, recipients."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import Form, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from extensions import db
from services.validation import record_id, record_id_or_none

RECIPIENTS = {
    "client": _l("Client"),
    "installer": _l("Installer"),
    "commercial": _l("Commercial"),
    "owner": _l("Internal owner of the opportunity"),
}

# The settings page that fixes each missing prerequisite: (endpoint, shown name). The endpoints are
# the names later issues give those pages; until one exists the page is named without a link.
SETTINGS_PAGES = {
    "assignment_criteria": ("settings.assignment_criteria", _l("Settings → Assignment criteria")),
    "email_templates": ("settings.email_templates", _l("Settings → Email templates")),
    "smtp_credentials": ("settings.smtp_credentials", _l("Settings → SMTP credentials")),
    "report_templates": ("settings.report_templates", _l("Settings → Report templates")),
    "activity_types": ("settings.activity_types", _l("Settings → Activity types")),
    "export_templates": ("settings.export_templates", _l("Settings → Export templates")),
    "external_sources": ("settings.external_source_actions", _l("Settings → External-source actions")),
    "esignature": ("settings.esignature", _l("Settings → Electronic signature")),
    "users": ("settings.users", _l("Settings → Users")),
}


@dataclass(frozen=True)
class Missing:
    """A prerequisite a kind lacks: what is missing, and the settings page that fixes it."""

    message: str
    page_key: str

    @property
    def page(self) -> str:
        return str(SETTINGS_PAGES[self.page_key][1])

    @property
    def url(self) -> str | None:
        """The page's address, only for a user who may open it: the settings pages need settings.manage
        (SPEC: admins manage templates, credentials and assignment criteria), so a sales manager is told
        who can instead of being sent to a 403."""
        endpoint = SETTINGS_PAGES[self.page_key][0]
        if endpoint not in current_app.view_functions or not _may_manage_settings():
            return None
        return url_for(endpoint)

    def __str__(self) -> str:
        return f"{self.message} ({self.page})"


def _may_manage_settings() -> bool:
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated and current_user.can("settings.manage"))


def options(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs or a {value: label} dict (labels may be lazy)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in items]


BLANK = ("", "—")


def exists(model, *where) -> bool:
    """Whether at least one row of `model` matches."""
    return db.session.execute(select(model.id).where(*where).limit(1)).first() is not None


def _int_or_none(value):
    return record_id_or_none(value)  # an id no record can have is refused as unknown, never queried


class RefField(SelectField):
    """A select of existing records: empty or unknown ids are refused with the kind's own messages."""

    def __init__(self, label=None, validators=None, required_message=None, missing_message=None, **kwargs):
        super().__init__(label, validators, coerce=_int_or_none, validate_choice=False, **kwargs)
        self.required_message = required_message
        self.missing_message = missing_message
        self.valid_ids: set[int] = set()

    def set_records(self, pairs, groups: dict | None = None) -> None:
        """Offer (id, label) pairs, or {group label: pairs} for optgroups."""
        if groups is not None:
            self.choices = options([BLANK]) + [c for group, pairs_ in groups.items() for c in options(pairs_, group)]
            self.valid_ids = {i for pairs_ in groups.values() for i, _ in pairs_}
        else:
            pairs = list(pairs)
            self.choices = options([BLANK, *pairs])
            self.valid_ids = {i for i, _ in pairs}

    def pre_validate(self, form) -> None:
        if self.data is None:
            if self.flags.required or self.required_message:
                raise StopValidation(str(self.required_message))
            return
        if self.data not in self.valid_ids:
            raise StopValidation(str(self.missing_message))


class RefsField(SelectMultipleField):
    """Several existing records as checkboxes; unknown ids are refused."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, missing_message=None, **kwargs):
        super().__init__(label, validators, coerce=record_id, validate_choice=False, **kwargs)
        self.missing_message = missing_message

    def process_data(self, value) -> None:
        self.data = [v for v in (_int_or_none(x) for x in (value or [])) if v is not None]

    def process_formdata(self, valuelist) -> None:
        self.data = [v for v in (_int_or_none(x) for x in valuelist) if v is not None]

    def pre_validate(self, form) -> None:
        known = {choice.value for choice in self.choices}
        if any(v not in known for v in self.data or []):
            raise StopValidation(str(self.missing_message))


class RecipientField(SelectField):
    """The recipient role of an email: client, installer, commercial or the internal owner."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=options([BLANK, *RECIPIENTS.items()]), validate_choice=False, **kwargs)

    def pre_validate(self, form) -> None:
        if self.data not in RECIPIENTS:
            raise StopValidation(str(_l("Choose who receives the email.")))


def check_placeholders(form, field) -> None:
    """WTForms validator: the text must be a template the sandbox accepts (engine.render.check_source:
    it parses, reaches for nothing internal and fills in with empty values)."""
    from engine import render

    problem = render.check_source(field.data or "", html=False)
    if problem is not None:
        raise ValidationError(str(_l("The placeholders are not valid (line %(line)s): %(error)s",
                                     line=problem.line or 1, error=problem.reason)))


@dataclass
class Lookup:
    """Names of referenced records for action summaries, each table loaded once per request."""

    _cache: dict = field(default_factory=dict)

    def name(self, model, record_id, whole_table: bool = True) -> str | None:
        """The record's shown name; big tables (substates) go by the session's identity map instead."""
        if record_id is None:
            return None
        if not whole_table:
            record = db.session.get(model, record_id)
            return _display(record) if record is not None else None
        if model not in self._cache:
            rows = db.session.execute(select(model)).scalars()
            self._cache[model] = {r.id: _display(r) for r in rows}
        return self._cache[model].get(record_id)


def _display(record) -> str:
    for attr in ("label", "name"):
        value = getattr(record, attr, None)
        if isinstance(value, str) and value:
            return value
    return f"#{record.id}"


def quoted(value: str | None) -> str:
    """A referenced record's name in quotes, or a visible mark that it no longer exists."""
    return f"“{value}”" if value else str(_l("(deleted)"))


def written(label: str, text: str | None) -> list[str]:
    """A dry run's detail: `label` with the text a run wrote (shortened), or nothing when it wrote none."""
    text = " ".join((text or "").split())
    if not text:
        return []
    return [_("%(what)s: “%(text)s”", what=label, text=text if len(text) <= 300 else text[:299] + "…")]


class Kind:
    """An action kind: key, label, config form, prerequisites and validation (execution comes later)."""

    key = ""
    label = ""
    help = ""
    # "open" or "close" when the kind opens or closes another substate (edges of the flow map).
    effect: str | None = None
    # True when what the kind does before its first write is short (a few statements in this database, or a
    # short email rendered before the `sending` mark): the run is read, and its claim written with that first
    # write — the outcome, or begin_external (engine.executor.execute). Not for a kind that may take a while
    # (a report, an export): meanwhile the run shows no claim, and on SQLite a transaction that has written
    # holds the database's write lock.
    claim_with_first_write = False
    # The records related to the run's opportunity that execute() reads (its client, type, partners…), as (model,
    # join condition on Opportunity) pairs: read with the run (engine.executor._read), found in the session by
    # the opportunity's many-to-one relationships.
    opportunity_records: tuple = ()

    def read_with(self) -> list:
        """Records the run's config names that execute() looks up by id, as (model, join condition on
        ActionRun) pairs, or (column expression, None): the engine reads them with the run, in the same query
        (engine.executor._read); execute() finds them in the session, or in order with
        engine.executor.read_with_records()."""
        return []

    class ConfigForm(Form):
        pass

    def build_form(self, substate, formdata=None, data=None) -> Form:
        """The kind's config form with its choices filled for this substate."""
        form = self.ConfigForm(formdata=formdata, data=data or {}, prefix="config")
        self.fill(form, substate)
        return form

    def fill(self, form: Form, substate) -> None:
        """Put the current records in the form's selects."""

    def prerequisites(self, substate) -> list[Missing]:
        """What must exist before an action of this kind can be saved (SPEC D7)."""
        return []

    def check(self, form: Form, substate) -> dict[str, str]:
        """Cross-field checks after the form validated: {field name: message}."""
        return {}

    def config_of(self, form: Form) -> dict:
        """The JSON config stored on the action."""
        return {name: f.data for name, f in form._fields.items()}

    def summary(self, config: dict, lookup: Lookup) -> str:
        """One line describing a configured action, for the panel's lists."""
        return str(self.label)

    def dry_details(self, run) -> list[str]:
        """What a dry run shows of a run's effect beyond its configured summary: the texts it wrote with
        their placeholders filled (read in the dry run's transaction, before it is rolled back)."""
        return []

    def substate_refs(self, config: dict) -> list[int]:
        """Substates this action refers to (kept valid when substates are deleted or copied)."""
        return []
