"""M5 Schedule activity ("Pianificare l'attività"): an activity (A7) with a subject, a time relative to the
run, a duration, a responsible user, a colour and the meeting's details — participants, address or
location, a link, an attachment — that may show in calendars, and that completes itself when the
opportunity leaves the substate it was scheduled in (engine.activity_completion)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from engine import uploads
from engine.kinds import _schedule_form as schedule_form
from engine.kinds.base import Kind, Lookup, Missing, exists, quoted, written
from extensions import db
from models import Activity, ActivityType, Location, OpportunitySubstate, ReportTemplate, User
from models.base import utcnow
from services.colours import COLOURS, DEFAULT_COLOUR, colour_name


class ScheduleActivity(Kind):
    key = "schedule_activity"
    label = _l("Schedule activity")
    help = _l("Schedules a meeting, a call or another activity for the opportunity's responsible user or a chosen "
              "user, with a due time counted from when the action runs; it can show in calendars and complete "
              "itself when the opportunity moves to another substate.")
    fields_template = "designer/kinds/schedule_activity.html"
    ConfigForm = schedule_form.ScheduleForm

    def fill(self, form, substate) -> None:
        schedule_form.fill(form)

    def prerequisites(self, substate) -> list[Missing]:
        if exists(ActivityType, ActivityType.active.is_(True)):
            return []
        return [Missing(str(_l("Schedule activity needs an active activity type.")), "activity_types")]

    def check(self, form, substate) -> dict[str, str]:
        """An uploaded attachment needs a file: chosen now, or kept from before (checked again)."""
        if form.attachment.data != "upload" or getattr(form, "upload", None) is not None:
            return {}
        if not form.attachment_upload.data:
            return {"attachment_file": _("Choose a file to attach.")}
        try:
            uploads.load(form.attachment_upload.data)
        except uploads.UploadRefused as err:
            return {"attachment_file": str(err)}
        return {}

    def config_of(self, form) -> dict:
        """The stored config; a file chosen now is kept (once, by its sha256) and named by its token."""
        attachment = form.attachment.data
        token = None
        if attachment == "upload":
            upload = getattr(form, "upload", None)
            token = uploads.keep(upload) if upload is not None else form.attachment_upload.data
        user_chosen = form.responsible.data == "user"
        return {
            "activity_type_id": form.activity_type_id.data,
            "subject": (form.subject.data or "").strip(),
            "description": (form.description.data or "").strip(),
            "due_amount": int(str(form.due_amount.data).strip()),
            "due_unit": form.due_unit.data,
            "due_working_hours": bool(form.due_working_hours.data),
            "duration_minutes": int(str(form.duration_minutes.data).strip()),
            "responsible": form.responsible.data,
            "responsible_user_id": form.responsible_user_id.data if user_chosen else None,
            "colour": form.colour.data,
            "in_calendar": bool(form.in_calendar.data),
            "include_client": bool(form.include_client.data),
            "invitee_ids": sorted(set(form.invitee_ids.data or [])),
            "address": (form.address.data or "").strip(),
            "location_id": form.location_id.data,
            "location_text": (form.location_text.data or "").strip(),
            "link": (form.link.data or "").strip(),
            "attachment": attachment,
            "attachment_upload": token,
            "report_template_id": form.report_template_id.data if attachment == "report" else None,
            "auto_complete": bool(form.auto_complete.data),
        }

    def summary(self, config: dict, lookup: Lookup) -> str:
        text = "{} · {}".format(quoted(lookup.name(ActivityType, config.get("activity_type_id"))),
                                (config.get("subject") or "")[:60])
        return f"{text} · {colour_name(config.get('colour'))}"

    def dry_details(self, run) -> list[str]:
        activity = db.session.get(Activity, (run.result or {}).get("activity_id") or 0)
        if activity is None:
            return []
        return written(_("Activity"), activity.subject) + written(_("Description"), activity.description)

    def execute(self, run) -> dict:
        """Create the scheduled activity, its texts filled in the responsible user's language, in the run's
        transaction; an attachment is copied (or the report rendered) into a file of the opportunity."""
        from engine import render
        from engine.errors import PermanentError
        from services import absences
        from services.activities import Schedule, schedule_activity

        config = run.config or {}
        opp = run.opportunity
        activity_type = _activity_type(config)
        stand_ins: list[dict] = []  # an absent responsible's stand-in gets the activity (services.absences)
        responsible = absences.resolve(_responsible(config, opp), stand_ins)
        lang = _language(responsible)
        sources = [config.get("subject") or "", config.get("description") or "", config.get("address") or "",
                   config.get("link") or ""]
        try:
            with force_locale(lang):
                values = render.context(opp, sources=sources)
                subject, description, address, link = render.render_many([(s, values, False) for s in sources])
        except render.RENDER_ERRORS as err:
            raise PermanentError(_("The placeholders could not be filled: %(error)s", error=render.reason(err))) from err
        subject = " ".join(subject.split())
        if not subject:
            raise PermanentError(_("The activity's subject is empty once its placeholders are filled in."))
        # A placeholder's value may hold spaces or accents ("?who=Marco Rossi"): percent-encoded, as a browser would.
        link = quote(link.strip(), safe=schedule_form.URL_SAFE)
        if link and (len(link) > 500 or schedule_form.web_link_problem(link)):
            raise PermanentError(_("The link “%(link)s” is not a web address starting with http:// or https://: "
                                   "the activity was not scheduled.", link=link[:200]))
        plan = Schedule(
            subject=subject, due_at=_due(run, config, responsible), responsible=responsible,
            duration_minutes=int(config.get("duration_minutes") or 30),
            # The palette only: the colour lands in a style attribute on every page that shows it.
            colour=config.get("colour") if config.get("colour") in COLOURS else DEFAULT_COLOUR, in_calendar=bool(config.get("in_calendar")),
            include_client=bool(config.get("include_client")), invitees=_invitees(config),
            address=address, location_id=_location_id(config), location_text=config.get("location_text"),
            link=link or None)
        stored = _attachment(run, config, lang)
        plan.attachment_id = stored.id if stored is not None else None
        if config.get("auto_complete", True) and run.trigger != "on_close" and run.substate_id:
            plan.auto_complete_substate = run.substate
            if not _still_open(run):  # the opportunity already moved on before the run got here
                plan.completed_at = utcnow()
        activity = schedule_activity(opp, activity_type, description, plan, run_id=run.id)
        result = {"activity_id": activity.id}
        if stand_ins:
            result["stand_ins"] = stand_ins
        if stored is not None:
            from engine import files
            result["files"] = [files.summary(stored)]
        return result


def _activity_type(config) -> ActivityType:
    from engine.errors import PermanentError

    activity_type = db.session.get(ActivityType, config.get("activity_type_id") or 0)
    if activity_type is None:
        raise PermanentError(_("The activity type of this action no longer exists."))
    if not activity_type.active:
        raise PermanentError(_("The activity type “%(name)s” is deactivated: activate it in Settings → "
                               "Activity types, or choose another one in the action.", name=activity_type.name))
    return activity_type


def _responsible(config, opp) -> User:
    """The opportunity's responsible user (default) or the chosen one; either must be an active user."""
    from engine.errors import PermanentError

    if config.get("responsible") == "user":
        user = db.session.get(User, config.get("responsible_user_id") or 0)
        if user is None or not user.active or user.is_partner:
            raise PermanentError(_("The responsible user chosen in this action no longer exists or is not active."))
        return user
    user = opp.owner
    if user is None or not user.active:
        raise PermanentError(_("The opportunity has no active responsible user to schedule the activity for: "
                               "give it one, or choose a user in the action."))
    return user


def _language(user: User) -> str:
    value = (user.language or "")[:2]
    return value if value in ("it", "es", "en") else current_app.config["BABEL_DEFAULT_LOCALE"]


def _due(run, config, responsible: User):
    """The run's due time plus the configured amount; moved into the responsible's working hours if asked."""
    from engine.calendar import next_working_moment, region_of

    minutes = int(config.get("due_amount") or 0) * schedule_form.UNIT_MINUTES.get(config.get("due_unit"), 1440)
    due = (run.due_at or run.created_at) + timedelta(minutes=min(minutes, schedule_form.MAX_DUE_MINUTES))
    if config.get("due_working_hours"):
        due = next_working_moment(due, responsible, region_of(run.opportunity))
    return due.replace(microsecond=0)


def _invitees(config) -> list[User]:
    """The chosen users who are still active internal users (the others are left out)."""
    ids = [i for i in config.get("invitee_ids") or [] if isinstance(i, int)]
    if not ids:
        return []
    return list(db.session.execute(
        select(User).where(User.id.in_(ids), User.active.is_(True), User.role != "partner").order_by(User.name)
    ).scalars())


def _location_id(config) -> int | None:
    from engine.errors import PermanentError

    if config.get("location_id") is None:
        return None
    location = db.session.get(Location, config.get("location_id") or 0)
    if location is None:
        raise PermanentError(_("The location of this action no longer exists."))
    if not location.active:
        raise PermanentError(_("The location “%(name)s” is deactivated: activate it in Settings → Locations, or "
                               "choose another one in the action.", name=location.name))
    return location.id


def _attachment(run, config, lang: str):
    """The uploaded file or the rendered report, stored once as a file of the opportunity (a retry reuses it)."""
    from engine import files, pdf
    from engine.errors import PermanentError

    if config.get("attachment") == "upload":
        try:
            upload = uploads.load(config.get("attachment_upload"))
        except uploads.UploadRefused as err:
            raise PermanentError(str(err)) from None
        stored, _content = files.made_once(run, upload.filename, upload.content_type, lambda: upload.content)
        return stored
    if config.get("attachment") == "report":
        report = db.session.get(ReportTemplate, config.get("report_template_id") or 0)
        if report is None:
            raise PermanentError(_("The report template of this action no longer exists."))
        filename = pdf.filename_for(report, run.opportunity)
        stored, _content = files.made_once(run, filename, "application/pdf",
                                           lambda: pdf.render_report(report, run.opportunity, lang))
        return stored
    return None


def _still_open(run) -> bool:
    return db.session.execute(
        select(OpportunitySubstate.status).where(OpportunitySubstate.opportunity_id == run.opportunity_id,
                                                 OpportunitySubstate.substate_id == run.substate_id)
    ).scalar_one_or_none() == "open"


KIND = ScheduleActivity()
