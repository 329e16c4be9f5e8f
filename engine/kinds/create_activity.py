"""A7 Create activity: an activity of a chosen type and description, present on the opportunity."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import Form, TextAreaField
from wtforms.validators import Length

from engine.kinds.base import Kind, Lookup, Missing, RefField, check_placeholders, exists, quoted, written
from extensions import db
from models import Activity, ActivityType


class CreateActivity(Kind):
    key = "create_activity"
    label = _l("Create activity")
    help = _l("Creates an activity on the opportunity, e.g. type “Outbound call”, description “Call the client”.")

    class ConfigForm(Form):
        activity_type_id = RefField(
            _l("Activity type"),
            required_message=_l("Choose an activity type."),
            missing_message=_l("The chosen activity type does not exist or is not active."),
        )
        description = TextAreaField(
            _l("Description"),
            validators=[Length(max=2000, message=_l("At most %(max)d characters.")), check_placeholders],
            description=_l("Placeholders such as {{ opportunity.name }}, {{ client.name }} and {{ installer.name }} "
                           "may be used, as in email templates."),
        )

    def fill(self, form, substate) -> None:
        types = db.session.execute(
            select(ActivityType).where(ActivityType.active.is_(True)).order_by(ActivityType.name)
        ).scalars()
        form.activity_type_id.set_records((t.id, t.label) for t in types)

    def prerequisites(self, substate) -> list[Missing]:
        if exists(ActivityType, ActivityType.active.is_(True)):
            return []
        return [Missing(str(_l("Create activity needs an active activity type.")), "activity_types")]

    def config_of(self, form) -> dict:
        return {"activity_type_id": form.activity_type_id.data, "description": (form.description.data or "").strip()}

    def summary(self, config: dict, lookup: Lookup) -> str:
        text = quoted(lookup.name(ActivityType, config.get("activity_type_id")))
        if config.get("description"):
            text += " · " + config["description"][:60]
        return text

    def dry_details(self, run) -> list[str]:
        activity = db.session.get(Activity, (run.result or {}).get("activity_id") or 0)
        return written(_("Activity"), activity.description) if activity is not None else []

    def execute(self, run) -> dict:
        """Create the activity, its description's placeholders filled, in the run's transaction."""
        from engine import render
        from engine.errors import PermanentError
        from services.activities import create_activity

        config = run.config or {}
        activity_type = db.session.get(ActivityType, config.get("activity_type_id") or 0)
        if activity_type is None:
            raise PermanentError(_("The activity type of this action no longer exists."))
        if not activity_type.active:
            raise PermanentError(_("The activity type “%(name)s” is deactivated: activate it in Settings → "
                                   "Activity types, or choose another one in the action.", name=activity_type.name))
        try:
            source = config.get("description") or ""
            description = render.render(source, render.context(run.opportunity, sources=[source]), html=False)
        except render.RENDER_ERRORS as err:
            raise PermanentError(_("The description's placeholders could not be filled: %(error)s",
                                   error=render.reason(err))) from err
        activity = create_activity(run.opportunity, activity_type, description, run_id=run.id)
        return {"activity_id": activity.id, "activity_type_id": activity_type.id}


KIND = CreateActivity()
