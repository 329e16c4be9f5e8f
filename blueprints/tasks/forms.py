"""The "Add task" form of the opportunity page: its choices are the opportunity's people and substates."""

from datetime import time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.fields import LocaleDateField
from extensions import db
from models import Opportunity, User
from services.substates import flow_of
from services.tasks import DESCRIPTION_MAX, TITLE_MAX
from services.validation import optional_record_id, record_id

# A deadline given as a day only is due at the end of a usual working day.
DEFAULT_TIME = time(18, 0)


class TaskForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    responsible_id = SelectField(_l("Responsible user"), coerce=record_id)
    deadline_date = LocaleDateField(_l("Deadline"), validators=[Optional()])
    deadline_time = TimeField(_l("Deadline time"), default=DEFAULT_TIME, validators=[Optional()])
    participants = SelectMultipleField(_l("Participants"), coerce=record_id, validators=[Optional()])
    observers = SelectMultipleField(_l("Observers"), coerce=record_id, validators=[Optional()])
    substate_id = SelectField(_l("Substate"), coerce=optional_record_id, validators=[Optional()])

    def fill(self, opp: Opportunity, flow=None, people=None) -> "TaskForm":
        """The choices: active internal users and the users of the opportunity's partner companies (who
        work on it); the substates of the opportunity's flow. The responsible defaults to its owner.
        `flow` and `people`: flow_of(opp) and people_choices(opp) when the caller has them already."""
        users = people_choices(opp) if people is None else people
        self.responsible_id.choices = [(0, "—")] + users
        self.participants.choices = users
        self.observers.choices = users
        # The flow as the opportunity page shows it: archived substates only if it went through them.
        self.substate_id.choices = [("", "—")] + [(row.substate.id, f"{state.label} › {row.substate.label}")
                                                 for state, rows in (flow or flow_of(opp)) for row in rows]
        if self.responsible_id.data is None and not self.is_submitted():
            self.responsible_id.data = opp.owner_id or 0
        return self


def people_choices(opp: Opportunity) -> list[tuple[int, str]]:
    """Who may take a task of the opportunity: active internal users and its partner companies' users."""
    companies = [c for c in (opp.installer_id, opp.commercial_id) if c]
    people = select(User).where(User.active.is_(True),
                                or_(User.role != "partner", User.company_id.in_(companies or [-1])))
    return [(u.id, u.name) for u in db.session.execute(people.order_by(User.name, User.id)).scalars()]
