"""History tab Process automations (seed 003, T2 and T3): each time a process automation or a substate's
linked tasks ticked — or did not tick — a substate: the automation, its field and the value filled, the
substate, which way it went (the field ticked the step; the step, ticked by hand, asked for the field; the
last linked task done ticked the step), the run's status and why it stopped."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, literal, select

from extensions import db
from models import ActionRun, CustomField, ProcessAutomation, Substate
from models.base import translated
from models.runs import REASONS
from services import field_values as fv
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_status,
    run_statuses,
    status_column,
    when_column,
)
from services.history.shown import labelled, name_matches, translated_name

AUTOMATION, LINKED = "process_automation", "linked_tasks"
KINDS = (AUTOMATION, LINKED)
RECORDED_DIRECTION = ActionRun.result["direction"].as_string()
DIRECTION = case((ActionRun.kind == LINKED, literal(LINKED)), else_=RECORDED_DIRECTION)
# A linked-tasks run has no automation: its config name is the substate's.
AUTOMATION_NAME = case((ActionRun.kind == AUTOMATION, ActionRun.config["name"].as_string()), else_=None)
FIELD_REF = ActionRun.result["field"].as_string()
# The value that was filled, as the person's page showed it.
VALUE = ActionRun.result["value"].as_string()

DIRECTIONS = {
    "field_closes": (_l("Field filled → step ticked"),
                     and_(ActionRun.kind == AUTOMATION, RECORDED_DIRECTION == "field_closes")),
    "close_requires_field": (_l("Step ticked → field required"),
                             and_(ActionRun.kind == AUTOMATION, RECORDED_DIRECTION == "close_requires_field")),
    LINKED: (_l("Linked tasks done → step ticked"), ActionRun.kind == LINKED),
}
# The reasons these runs record (engine.trigger_types.firing.close_by_automation and its callers).
REASON_OPTIONS = {code: (REASONS[code], ActionRun.reason == code)
                  for code in ("field_at_close", "not_open", "needs_note", "needs_fields", "chain_guard")}


def direction_label(run: ActionRun) -> str:
    """Which way the run went, as the tab and the opportunity's timeline word it."""
    key = LINKED if run.kind == LINKED else (run.result or {}).get("direction", "")
    return str(DIRECTIONS[key][0]) if key in DIRECTIONS else ""


def field_label(ref: str | None, automation_id=None) -> str:
    """The field's name now; for a deleted field the name its automation kept, else a placeholder."""
    if not ref:
        return ""
    field = fv.resolve(ref)
    if field is not None:
        return field.label
    automation = db.session.get(ProcessAutomation, automation_id) if isinstance(automation_id, int) else None
    return automation.field_name if automation is not None and automation.field_name else _("(deleted field)")


def field_cell(run: ActionRun) -> str:
    """The field and the value that was filled, e.g. "Power (kW): 9,8"."""
    result = run.result or {}
    label = field_label(result.get("field"), result.get("automation_id"))
    return f"{label}: {result['value']}" if label and result.get("value") else label


def _field_labels(values: list[str]) -> dict[str, str]:
    return {value: field_label(value) for value in values}


def _all_field_labels() -> dict[str, str]:
    """Every field's reference with its name (the sort orders by the names the user reads)."""
    labels = {f"system:{key}": str(label) for key, (label, _max) in fv.SYSTEM_FIELDS.items()}
    for ident, name, i18n in db.session.execute(select(CustomField.id, CustomField.name, CustomField.name_i18n)):
        labels[f"custom:{ident}"] = translated(name, i18n)
    return labels


TAB = register(Tab(
    key="process_automations", label=_l("Process automations"), kinds=KINDS, position=115,
    entities=(Substate.name, Substate.name_i18n),
    join=lambda stmt: stmt.outerjoin(Substate, Substate.id == ActionRun.substate_id),
    columns=[
        opportunity_column(),
        Column("automation", _l("Automation"), AUTOMATION_NAME,
               lambda row: (row[0].config or {}).get("name", "") if row[0].kind == AUTOMATION else ""),
        Column("field", _l("Field"), FIELD_REF,
               lambda row: field_label((row[0].result or {}).get("field"), (row[0].result or {}).get("automation_id")),
               filter="select", option_labels=_field_labels, shown=lambda: labelled(FIELD_REF, _all_field_labels())),
        Column("value", _l("Value"), VALUE, lambda row: (row[0].result or {}).get("value") or ""),
        # Shown, sorted and found by its name in the user's language (found in any language).
        Column("substate", _l("Substate"), Substate.name, lambda row: translated(row[2], row[3]),
               shown=lambda: translated_name(Substate), match=name_matches(Substate, Substate.id)),
        Column("direction", _l("Direction"), DIRECTION, lambda row: direction_label(row[0]), filter="select",
               options=DIRECTIONS, shown=lambda: labelled(DIRECTION, {k: v[0] for k, v in DIRECTIONS.items()})),
        Column("reason", _l("Reason"), ActionRun.reason, lambda row: row[0].reason_text or "", filter="select",
               options=REASON_OPTIONS, shown=lambda: labelled(ActionRun.reason, REASONS)),
        when_column(),
        status_column(run_statuses("succeeded", *COMMON_STATUSES), lambda row: run_status(row[0])),
    ],
))
