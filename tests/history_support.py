"""Rows the history tabs list: runs of each kind with their detail rows, built directly — with the detail
rows and `result` keys the kinds themselves record (tests/test_history_file_tabs.py checks them against
real runs). Files are really stored (engine.files): in the test's FILES_DIR, or a temporary folder when the
test left it at the instance's own (the demo's files live there)."""

import secrets
import tempfile
from pathlib import Path

from flask import current_app

from config import INSTANCE_DIR
from engine import files
from extensions import db
from models import ActionRun, Activity, Assignment, OutgoingEmail, SignatureRequest
from models.base import utcnow


def run(opp, kind: str, status: str = "succeeded", **kw) -> ActionRun:
    r = ActionRun(opportunity_id=opp.id, kind=kind, trigger=kw.pop("trigger", "on_open"), status=status,
                  chain_id="c", config=kw.pop("config", {}), result={}, due_at=kw.pop("due_at", utcnow()), **kw)
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


def substate(opp, sub, kind: str = "open_substate", status: str = "succeeded", owner=None, **kw):
    """A run that opened or closed `sub`, by an action of `owner` (else of `sub` itself)."""
    return run(opp, kind, status, substate_id=(owner or sub).id, config={"substate_id": sub.id}, **kw)


def _sent_file(opp, kind: str, label_key: str, label: str, filename: str, content: bytes, content_type: str,
               recipient: str, status: str, run_status: str, credentials: str, extra: dict, **kw):
    """A report or export run: its stored file, its email carrying it, its result as engine.outbox makes it."""
    r = run(opp, kind, run_status, **kw)
    if Path(current_app.config["FILES_DIR"]).resolve().is_relative_to(INSTANCE_DIR.resolve()):
        current_app.config["FILES_DIR"] = tempfile.mkdtemp(prefix="oppflow-test-files-")
    stored = files.store(r, filename, content, content_type)
    sender = "noreply@example.com"
    db.session.add(OutgoingEmail(run_id=r.id, opportunity_id=opp.id, kind=kind, template_name="File email",
                                 recipient=recipient, recipient_role="client", credentials_name=credentials,
                                 sender=sender, status=status, error=kw.get("error"),
                                 attachments=[{"filename": filename, "content_type": content_type,
                                               "size": len(content)}]))
    r.result = {"template": "File email", "credentials": credentials, "sender": sender,
                "emails": [{"to": recipient, "role": "client", "status": status}], label_key: label, **extra,
                "files": [{"id": stored.id, "filename": filename, "size": stored.size, "sha256": stored.sha256}]}
    db.session.flush()
    return r, stored


def report(opp, label: str, recipient: str, status: str = "sent", run_status: str = "succeeded",
           credentials: str = "Main SMTP", filename: str | None = None, **kw):
    """A generate-report run that emailed its PDF; returns (run, stored file)."""
    return _sent_file(opp, "generate_report", "report", label, filename or f"{label}-{opp.id}.pdf",
                      b"%PDF-1.4 " + label.encode(), "application/pdf", recipient, status, run_status,
                      credentials, {}, **kw)


def export(opp, template: str, recipient: str, file_format: str = "csv", status: str = "sent",
           run_status: str = "succeeded", credentials: str = "Main SMTP", filename: str | None = None, **kw):
    """An export run that emailed its CSV or XLSX; returns (run, stored file)."""
    extra = {"export_template": template, "export_type": file_format, "extension": file_format,
             "recipient": recipient}
    return _sent_file(opp, "export", "export_template", template, filename or f"{template}-{opp.id}.{file_format}",
                      f"Number,Opportunity\n{opp.id},{opp.name}\n".encode(), "text/csv", recipient, status,
                      run_status, credentials, extra, **kw)


def signature(opp, document: str, signer: str, status: str = "sent", run_status: str = "succeeded",
              provider: str = "simulator", signer_name: str = "", **kw):
    """An e-signature run and its request; returns (run, request)."""
    r = run(opp, "esignature", run_status, **kw)
    request = SignatureRequest(run_id=r.id, opportunity_id=opp.id, source_name="esign", provider=provider,
                               reference=secrets.token_urlsafe(32), signer_email=signer, signer_name=signer_name,
                               status=status, document_name=document, document=b"%PDF-1.4", document_sha256="0" * 64)
    db.session.add(request)
    db.session.flush()
    r.result = {"signature_request_id": request.id, "provider": provider, "reference": request.reference,
                "signer": signer, "document": document, "sha256": request.document_sha256, "emails": []}
    db.session.flush()
    return r, request


def callback(opp, request, event: str = "signed", name: str = "Contract signed", **kw):
    """The run services.webhooks records when the provider reports the signer's answer."""
    request.status = event
    r = run(opp, "external_source", trigger="external", config={"name": name, "event": event, "actions": []}, **kw)
    r.result = {"source": request.source_name, "event": event, "signature_request_id": request.id, "steps": []}
    db.session.flush()
    return r


# -- issue 11: the monitoring rules' runs, with the rows their kinds write (the data contract of the history's
# Tasks, Notifications, History entries and Triggers tabs).

def task_created(opp, title: str, responsible=None, deadline=None, status: str = "todo",
                 run_status: str = "succeeded", **kw):
    """A Create-task run and, once it succeeded, its task (task.run_id); returns (run, task or None)."""
    from models import Task

    r = run(opp, "create_task", run_status, **kw)
    if run_status != "succeeded":
        return r, None
    task = Task(opportunity_id=opp.id, title=title, responsible_id=responsible.id if responsible else None,
                deadline=deadline, status=status, run_id=r.id, by_automation=True)
    db.session.add(task)
    db.session.flush()
    return r, task


def tasks_completed(opp, tasks, run_status: str = "succeeded", **kw):
    """A Complete-tasks run: each task completed, one status change per task carrying the run id."""
    from models import TaskStatusChange

    r = run(opp, "complete_tasks", run_status, **kw)
    if run_status == "succeeded":
        for task in tasks:
            db.session.add(TaskStatusChange(task_id=task.id, from_status=task.status, to_status="completed",
                                            run_id=r.id))
            task.status = "completed"
        r.result = {"completed_task_ids": [t.id for t in tasks]}
    db.session.flush()
    return r


def notified(opp, recipients, body: str, run_status: str = "succeeded", read=(), reason=None, **kw):
    """A Notify-supervisor run and one notification per recipient (those in `read` have read it)."""
    from models import Notification

    r = run(opp, "notify_supervisor", run_status, reason=reason, **kw)
    if run_status == "succeeded":
        for user in recipients:
            db.session.add(Notification(user_id=user.id, kind="notify_supervisor", params={}, body=body,
                                        link=f"/opportunities/{opp.id}", run_id=r.id,
                                        read_at=utcnow() if user in read else None))
    db.session.flush()
    return r


def history_entry(opp, text: str, author=None, run_status: str = "succeeded", **kw):
    """An Add-history-entry run and its entry."""
    from models import HistoryEntry

    r = run(opp, "add_history_entry", run_status, **kw)
    if run_status == "succeeded":
        db.session.add(HistoryEntry(opportunity_id=opp.id, text=text, author_id=author.id if author else None,
                                    run_id=r.id))
    db.session.flush()
    return r


def trigger_fired(opp, trigger, task, run_status: str = "succeeded", reason=None, **kw):
    """A trigger's run (kind trigger_task_status) for a status change of `task`."""
    r = run(opp, "trigger_task_status", run_status, trigger="trigger", trigger_id=trigger.id, reason=reason, **kw)
    r.result = {"task_id": task.id, "change_id": None,
                "substate_id": trigger.substate_id if run_status == "succeeded" else None}
    db.session.flush()
    return r


def trigger(substate, name: str):
    """A task-status trigger on `substate`."""
    from models import Trigger

    t = Trigger(substate_id=substate.id, kind="task_status", name=name, config={"status": "completed"})
    db.session.add(t)
    db.session.flush()
    return t


def automation_run(opp, sub, name: str, field: str = "system:company_name", value: str = "Rossi Srl",
                   direction: str = "field_closes", run_status: str = "succeeded", reason=None, automation_id=None):
    """A process automation's run (engine.trigger_types.process_automation) that ticked `sub`."""
    r = run(opp, "process_automation", run_status, trigger="trigger", substate_id=sub.id, config={"name": name},
            reason=reason)
    r.result = {"automation_id": automation_id, "field": field, "value": value, "direction": direction,
                "substate_id": sub.id}
    db.session.flush()
    return r


def linked_tasks_run(opp, sub, task=None, run_status: str = "succeeded", reason=None):
    """A linked-tasks run (engine.trigger_types.linked_tasks): the last linked task of `sub` was completed."""
    r = run(opp, "linked_tasks", run_status, trigger="trigger", substate_id=sub.id, config={"name": sub.name},
            reason=reason)
    r.result = {"task_id": task.id if task else None, "change_id": None, "substate_id": sub.id}
    db.session.flush()
    return r
