"""Rows the history tabs list: runs of each kind with their detail rows, built directly."""

from extensions import db
from models import ActionRun, Activity, Assignment, OutgoingEmail
from models.base import utcnow


def run(opp, kind: str, status: str = "succeeded", **kw) -> ActionRun:
    r = ActionRun(opportunity_id=opp.id, kind=kind, trigger=kw.pop("trigger", "on_open"), status=status,
                  chain_id="c", config={}, result={}, due_at=kw.pop("due_at", utcnow()), **kw)
    db.session.add(r)
    db.session.flush()
    return r


def email(opp, template: str, recipient: str, status: str = "sent", run_status: str = "succeeded",
          credentials: str = "Main SMTP", **kw):
    r = run(opp, "send_email", run_status, **kw)
    db.session.add(OutgoingEmail(run_id=r.id, opportunity_id=opp.id, kind="send_email", template_name=template,
                                 recipient=recipient, recipient_role="client", credentials_name=credentials,
                                 sender="noreply@example.com", status=status))
    db.session.flush()
    return r


def activity(opp, activity_type, completed: bool = False):
    r = run(opp, "create_activity")
    db.session.add(Activity(opportunity_id=opp.id, type_id=activity_type.id, run_id=r.id,
                            completed_at=utcnow() if completed else None))
    db.session.flush()
    return r


def assignment(opp, company, status: str = "pending"):
    r = run(opp, f"assign_{company.kind}")
    db.session.add(Assignment(opportunity_id=opp.id, company_id=company.id, partner_kind=company.kind,
                              status=status, run_id=r.id))
    db.session.flush()
    return r


def substate(opp, sub, kind: str = "open_substate", status: str = "succeeded", **kw):
    return run(opp, kind, status, substate_id=sub.id, **kw)
