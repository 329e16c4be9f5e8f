"""Helpers of tests/test_schedule_activity.py: a flow whose first substate schedules activities, saved
through the designer's validation, run by real workers."""

from io import BytesIO

from sqlalchemy import func, select

from extensions import db
from models import Action, ActionRun, Activity
from services import actions as svc
from tests.engine_support import runs, wait_for

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def fresh(model, record_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, record_id)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def base_config(activity_type, **config) -> dict:
    """A valid config: what the designer's form posts for the defaults, plus `config`."""
    return {"activity_type_id": activity_type.id, "subject": "Call {{ client.name }}", "description": "",
            "due_amount": "2", "due_unit": "hours", "due_working_hours": False, "duration_minutes": "45",
            "responsible": "owner", "colour": "#2f80ed", "in_calendar": True, "include_client": False,
            "invitee_ids": [], "address": "", "location_text": "", "link": "", "attachment": "none",
            "auto_complete": True, **config}


def save(substate, config: dict, group: str = "on_open") -> Action:
    """Save the action as the designer does (validated, config_of), and commit."""
    action = svc.save_action(substate, svc.ActionData(group=group, kind="schedule_activity", config=config))
    db.session.commit()
    return action


def run_through(opp, substate, user=None) -> ActionRun:
    """Open `substate` on `opp` (the runs go to the worker after commit) and wait for them to finish."""
    from services.substates import open_substate

    open_substate(opp, substate.id, user)
    db.session.commit()
    wait_for(lambda: runs() and all(r.is_final for r in runs()), timeout=30, message="runs to finish")
    return runs()[-1]


def activity_of(run) -> Activity:
    db.session.expire_all()
    return db.session.execute(select(Activity).where(Activity.run_id == run.id)).scalar_one()


def upload(name: str, content: bytes):
    """A file field as the test client posts it."""
    return (BytesIO(content), name)
