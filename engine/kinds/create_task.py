"""M3 Create task (seed 002, "Creare incarico"): a task on the opportunity with a title and description
(placeholders), a responsible user (the opportunity's, their supervisor, or a chosen one), a deadline
relative to its creation (optionally moved into the responsible user's working hours), participants and
observers. The task belongs to the action's substate and is marked as created by automation (M4 and the
T1 trigger's conditions read that)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, Form, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation

from engine.kinds import _monitoring
from engine.kinds.base import Kind, Lookup, Missing, options, quoted, written
from engine.kinds.send_email import OPPORTUNITY_RECORDS
from extensions import db
from models import Task, User
from models.base import utcnow
from models.flow import DELAY_UNITS
from services.tasks import DESCRIPTION_MAX, TITLE_MAX

RESPONSIBLE = {
    "owner": _l("The opportunity's responsible user"),
    "supervisor": _l("The supervisor of the opportunity's responsible user"),
    "user": _l("A chosen user"),
}
UNITS = DELAY_UNITS
MAX_AMOUNT = {"minutes": 365 * 24 * 60, "hours": 365 * 24, "days": 365}
FAILED_TITLE = _l("The title's placeholders could not be filled: %(error)s")
FAILED_DESCRIPTION = _l("The description's placeholders could not be filled: %(error)s")


class _Choice(SelectField):
    """A select whose value must be one of its choices, refused with the given message."""

    def __init__(self, label, choices: dict, message, **kwargs):
        super().__init__(label, choices=options(choices), validate_choice=False, **kwargs)
        self.allowed, self.message = set(choices), message

    def pre_validate(self, form) -> None:
        if self.data not in self.allowed:
            raise StopValidation(str(self.message))


class CreateTask(Kind):
    key = "create_task"
    opportunity_records = OPPORTUNITY_RECORDS
    label = _l("Create task")
    help = _l("Creates a task on the opportunity, e.g. “Prepare the project for {{ client.name }}”, for the "
              "opportunity's responsible user, their supervisor or a chosen user, due some time after it is created.")

    class ConfigForm(Form):
        title = StringField(_l("Title"), validators=_monitoring.text_validators(TITLE_MAX, _l("Give the task a title.")),
                            description=_monitoring.PLACEHOLDERS_HELP)
        description = TextAreaField(_l("Description"), validators=_monitoring.text_validators(DESCRIPTION_MAX))
        responsible = _Choice(_l("Responsible"), RESPONSIBLE, _l("Choose who is responsible for the task."),
                              default="owner")
        responsible_user_id = _monitoring.user_field(
            _l("Chosen user"), None, description=_l("Used when the responsible is “A chosen user”."))
        deadline_amount = StringField(
            _l("Deadline: how long after the task is created"),
            description=_l("A whole number in the unit below; leave it empty for a task without a deadline."),
            render_kw={"inputmode": "numeric"})
        deadline_unit = _Choice(_l("Unit"), UNITS, _l("Choose minutes, hours or days."), default="days")
        working_hours = BooleanField(_l("Move the deadline into the responsible user's working hours"))
        participant_ids = _monitoring.users_field(_l("Participants (optional)"))
        observer_ids = _monitoring.users_field(_l("Observers (optional)"))

        # Checks across fields, as field validators so that every message shows at once.
        def validate_responsible_user_id(self, field) -> None:
            if self.responsible.data == "user" and field.data is None:
                raise StopValidation(_("Choose the user responsible for the task."))

        def validate_deadline_amount(self, field) -> None:
            raw, unit = _amount_text(field.data), self.deadline_unit.data
            most = MAX_AMOUNT.get(unit, MAX_AMOUNT["days"])
            if raw and (not raw.isdigit() or not 1 <= int(raw) <= most):
                raise StopValidation(_("The deadline must be a whole number from 1 to %(max)d %(unit)s "
                                       "(at most 365 days).", max=most, unit=UNITS.get(unit, UNITS["days"])))

    def fill(self, form, substate) -> None:
        _monitoring.fill_users(form.responsible_user_id, form.participant_ids, form.observer_ids)

    def prerequisites(self, substate) -> list[Missing]:
        return _monitoring.needs_user(self.label)

    def config_of(self, form) -> dict:
        raw = _amount_text(form.deadline_amount.data)
        who = form.responsible.data
        return {"title": (form.title.data or "").strip(), "description": (form.description.data or "").strip(),
                "responsible": who, "responsible_user_id": form.responsible_user_id.data if who == "user" else None,
                "deadline_amount": int(raw) if raw else None, "deadline_unit": form.deadline_unit.data,
                "working_hours": bool(form.working_hours.data),
                "participant_ids": sorted(set(form.participant_ids.data or [])),
                "observer_ids": sorted(set(form.observer_ids.data or []))}

    def summary(self, config: dict, lookup: Lookup) -> str:
        who = config.get("responsible")
        person = quoted(lookup.name(User, config.get("responsible_user_id"))) if who == "user" \
            else str(RESPONSIBLE.get(who, "?"))
        text = f"“{(config.get('title') or '')[:60]}” → {person}"
        if config.get("deadline_amount"):
            text += " · " + deadline_text(config["deadline_amount"], config.get("deadline_unit"))
        return text

    def dry_details(self, run) -> list[str]:
        task = db.session.get(Task, (run.result or {}).get("task_id") or 0)
        if task is None:
            return []
        who = task.responsible.name if task.responsible is not None else "—"
        return written(_("Task for %(who)s", who=who), task.title) + written(_("Description"), task.description)

    def execute(self, run) -> dict:
        """Create the task in the run's transaction, once per run (Task.run_id is unique)."""
        from engine.calendar import next_working_moment, region_of
        from engine.errors import PermanentError
        from services import absences, tasks

        config, opp = run.config or {}, run.opportunity
        existing = db.session.execute(select(Task).where(Task.run_id == run.id)).scalar_one_or_none()
        if existing is not None:
            return {"task_id": existing.id}
        stand_ins: list[dict] = []  # an absent responsible's stand-in gets the task (services.absences)
        responsible = absences.resolve(self._responsible(opp, config), stand_ins)
        title = _monitoring.fill_text(config.get("title") or "", opp, FAILED_TITLE)
        title = " ".join(title.split())[:TITLE_MAX]
        if not title:
            raise PermanentError(_("The task's title is empty once its placeholders are filled."))
        description = _monitoring.fill_text(config.get("description") or "", opp, FAILED_DESCRIPTION)
        deadline = None
        amount, unit = config.get("deadline_amount"), config.get("deadline_unit")
        if amount and unit in MAX_AMOUNT:
            deadline = utcnow() + timedelta(**{unit: int(amount)})
            if config.get("working_hours"):
                deadline = next_working_moment(deadline, responsible, region_of(opp))
        participants = [u.id for u in _monitoring.active_users(config.get("participant_ids"))]
        observers = [u.id for u in _monitoring.active_users(config.get("observer_ids"))]
        task = tasks.create_task(opp, title, description[:DESCRIPTION_MAX], responsible_id=responsible.id,
                                 deadline=deadline, participants=participants, observers=observers,
                                 substate_id=run.substate_id, user=None, run_id=run.id)
        return {"task_id": task.id, "stand_ins": stand_ins} if stand_ins else {"task_id": task.id}

    @staticmethod
    def _responsible(opp, config: dict) -> User:
        """The user the configuration names for this opportunity; nobody (or a deactivated user) is a
        PermanentError saying why."""
        from engine.errors import PermanentError

        who = config.get("responsible")
        if who == "user":
            (user,) = _monitoring.active_users([config.get("responsible_user_id")]) or (None,)
            if user is None:
                raise PermanentError(_("The user chosen as responsible for the task no longer exists or is "
                                       "deactivated."))
            return user
        owner = opp.owner
        if owner is None:
            raise PermanentError(_("The opportunity has no responsible user, so the task has nobody to give it to."))
        if who == "supervisor":
            (user,) = _monitoring.active_users([owner.supervisor_id]) or (None,)
            if user is None:
                raise PermanentError(_("The opportunity's responsible user %(name)s has no active supervisor, so "
                                       "the task has nobody to give it to.", name=owner.name))
            return user
        if not owner.active:
            raise PermanentError(_("The opportunity's responsible user %(name)s is deactivated.", name=owner.name))
        return owner


def _amount_text(value) -> str:
    """The amount as typed, or as stored (an int) when an action's config is validated again (edit, copy)."""
    return str(value if value is not None else "").strip()


def deadline_text(amount: int, unit: str | None) -> str:
    """"deadline after 2 days", in the current language."""
    from services.actions import delay_text

    return _("deadline %(delay)s", delay=delay_text(amount, unit))


KIND = CreateTask()
