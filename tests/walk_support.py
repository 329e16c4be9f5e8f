"""Walking the app's URL map: one seeded dataset with a record behind every URL parameter, URLs built
from it for any rule (as tests/test_scoping.py does, with real ids), and the forms and links each page
holds (read from the HTML, so a form or link added later is found without editing the tests)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from extensions import db
from models import ExternalSource, HistoryEntry, ProcessAutomation, SignatureRequest, Trigger
from services import secrets as secret_svc
from services import tasks as task_svc
from tests import history_support as hs

# A name every named record of the seed shares: posting it again must be refused in words (SQLite's lower()
# does not fold it, so a check through lower() misses the duplicate and the unique constraint fires).
SEEDED_NAME = "Ω≈ç…"


@dataclass
class World:
    """The seeded records, by the URL parameter (or endpoint-specific role) they fill."""

    ids: dict[str, int]
    token: str
    users: dict


def seed(make) -> World:
    """One record of every kind a route's URL names, all reachable by an admin. Each named kind also has
    a record called SEEDED_NAME that the URLs do not name: renaming the walked record to it is a duplicate."""
    for factory in (make.channel, make.activity_type, make.email_template, make.smtp, make.report_template,
                    make.export_template, make.external_action):
        factory(SEEDED_NAME)
    make.company("installer", name=SEEDED_NAME)
    location = _location(SEEDED_NAME) and _location("Walked room")
    flow = make.flow((2, 2), name=SEEDED_NAME)
    sub = flow.substates[0]
    state = flow.states[0]
    channel = make.channel()
    installer = make.company("installer")
    commercial = make.company("commercial")
    opp = make.opportunity(flow, name="Walked deal", channel=channel, installer=installer, commercial=commercial)
    activity_type = make.activity_type()
    activity = make.activity(opp, activity_type)
    # A scheduled one too (M5), so the walks read its details on the opportunity page.
    from models.base import utcnow

    make.activity(opp, activity_type, subject="Walked meeting", due_at=utcnow(), duration_minutes=90,
                  colour="#27ae60", location_id=location.id, address="Via Po 1", link="https://meet.example.com/w",
                  include_client=True, in_calendar=True)
    email_template = make.email_template()
    smtp = make.smtp()
    report = make.report_template()
    export = make.export_template()
    action = make.action(sub, "open_substate", config={"substate_id": flow.substates[1].id})
    trigger = Trigger(substate_id=sub.id, kind="task_status", name="Walked trigger", config={"status": "completed"})
    db.session.add(trigger)
    # An external-event trigger (P4) too, so the Triggers tab, its summary and the map's source node are walked.
    db.session.add(Trigger(substate_id=sub.id, kind="external_event", name="Walked external trigger", position=1,
                           config={"source": "esign", "event_type": "payment.received",
                                   "conditions": [{"path": "data.amount", "op": "gt", "value": "1000"}]}))
    rule = make.rule("installer", [installer])
    source = ExternalSource(name="esign", label="E-signature", secret_encrypted=secret_svc.encrypt("s3cret"))
    db.session.add(source)
    external = make.external_action()
    assignment_run = hs.assignment(opp, installer)
    failed = hs.run(opp, "send_email", "failed")
    # A history entry (M2) on the walked opportunity's timeline; its author deleted, the harder case.
    db.session.add(HistoryEntry(opportunity_id=opp.id, text="Not moved on in time\nsecond line", author_id=None))
    # A process automation (T2) on a step the walked URLs do not close, inactive so it asks nothing of them.
    automation = ProcessAutomation(name="Walked automation", system_field="company_name", type_id=flow.id,
                                   substate_id=flow.substates[-1].id, field_name="Company name",
                                   substate_name=flow.substates[-1].name)
    db.session.add(automation)
    db.session.flush()
    hs.automation_run(opp, flow.substates[-1], automation.name, automation_id=automation.id, reason="field_at_close",
                      direction="close_requires_field")
    token = secrets.token_urlsafe(32)
    db.session.add(SignatureRequest(opportunity_id=opp.id, source_name="esign", provider="simulator",
                                    reference=token, signer_email="s@example.com", status="sent",
                                    document_name="d.pdf", document=b"%PDF-1.4", document_sha256="0" * 64))
    db.session.commit()
    from models import Assignment

    assignment = db.session.execute(db.select(Assignment).where(Assignment.run_id == assignment_run.id)).scalar_one()
    other = make.user("agent")
    users = {"admin": make.user("admin"), "manager": make.user("manager"), "agent": make.user("agent"),
             "partner": make.user("partner", company=installer)}
    _calendar(opp, activity_type, users, token)
    # A task on the walked opportunity, its partner user taking part (task pages and the status form).
    task = task_svc.create_task(opp, "Walked task", responsible_id=users["agent"].id, user=users["manager"],
                                participants=[users["partner"].id], substate_id=sub.id)
    _closing(opp, sub, users)
    db.session.commit()
    custom_field = _custom_fields()
    ids = {
        "opp_id": opp.id, "opportunity_id": opp.id, "customer_id": opp.customer_id, "substate_id": sub.id,
        "state_id": state.id, "type_id": flow.id, "action_id": action.id, "activity_id": activity.id,
        "assignment_id": assignment.id, "run_id": failed.id, "rule_id": rule.id, "channel_id": channel.id,
        "source_id": source.id, "company_id": installer.id, "cred_id": smtp.id, "user_id": other.id,
        "file_id": 1, "location_id": location.id, "field_id": custom_field.id, "trigger_id": trigger.id, "task_id": task.id,
        # Endpoint-specific: the same parameter name means another table on these pages.
        "activity_type": activity_type.id, "email_template": email_template.id, "report_template": report.id,
        "export_template": export.id, "external_action": external.id,
    }
    ids["automation_id"] = automation.id
    from models import FlowChange  # D12: the walked action's first recorded version (Changes → Restore)

    ids["change_id"] = db.session.scalar(db.select(FlowChange.id).where(
        FlowChange.entity == "action", FlowChange.entity_id == action.id).order_by(FlowChange.id))
    ids.update(_days_off(other, users["admin"]))
    from tests.webhook_support import seed_webhook

    webhook, delivery = seed_webhook()
    ids["subscription_id"], ids["delivery_id"] = webhook.id, delivery.id
    ids["notification_id"] = _notification(opp, users["admin"])
    ids["token_id"] = _api_tokens(users)
    ids["job_id"] = _long_job(users["admin"])
    return World(ids=ids, token=token, users=users)


def _notification(opp, user) -> int:
    """A notification of the admin (the API's /notifications/<id>/read): other walking users get its 404."""
    from models.notifications import Notification
    from services.notifications import notify

    notify([user.id], "assignment", {"opportunity": opp.name}, f"/opportunities/{opp.id}")
    db.session.commit()
    return db.session.execute(db.select(Notification.id).where(Notification.user_id == user.id)).scalars().first()


def _api_tokens(users: dict) -> int:
    """An API token of every walking user (one used, so "last used" shows), and a revoked one: the token
    page's table and revoke buttons are walked; the admin's token is the one the revoke URL names."""
    from models.base import utcnow
    from services import api_tokens

    made = {}
    for key, user in users.items():
        token, _plain = api_tokens.create_token(user, f"Walked token {key}", {"read", "write"}, 30)
        token.last_used_at, token.last_used_ip = utcnow(), "192.0.2.1"
        api_tokens.revoke(api_tokens.create_token(user, "Walked old token", {"read"}, 30)[0])
        made[key] = token.id
    db.session.commit()
    return made["admin"]


def _closing(opp, sub, users: dict) -> None:
    """The walked substate open, asking for a field and a note to close (D4), with a linked task under it
    (T3): the flow panel shows the hint, the task and "Add activity"; the walks post to their routes."""
    from models import SubstateRequirement
    from services.linked_tasks import add_linked_task
    from services.substates import open_substate

    sub.requires_note = True
    db.session.add(SubstateRequirement(substate_id=sub.id, system_field="contact_person"))
    open_substate(opp, sub.id, None)
    add_linked_task(opp, sub.id, users["manager"], "Walked linked task", responsible_id=users["agent"].id)


def _calendar(opp, activity_type, users: dict, token: str) -> None:
    """Calendar items of every walking user on the walked opportunity (so the calendar pages hold links to
    follow), and the admin's calendar feed at the walk's token (so the feed's URL answers with a feed)."""
    import hashlib

    from models import Activity, CalendarFeed, Task, TaskPerson
    from models.base import utcnow
    from models.work import activity_invitee

    admin, others = users["admin"], [u for key, u in users.items() if key != "admin"]
    visit = Activity(opportunity_id=opp.id, type_id=activity_type.id, subject="Walked visit", due_at=utcnow(),
                     duration_minutes=60, responsible_id=admin.id, in_calendar=True, colour="#1f7a4d")
    db.session.add(visit)
    db.session.flush()
    db.session.execute(activity_invitee.insert(), [{"activity_id": visit.id, "user_id": u.id} for u in others])
    db.session.add(Task(opportunity_id=opp.id, title="Walked task", responsible_id=admin.id, deadline=utcnow(),
                        people=[TaskPerson(user_id=u.id, role="participant") for u in others]))
    db.session.add(CalendarFeed(user_id=admin.id, token_hash=hashlib.sha256(token.encode()).hexdigest(),
                                token_encrypted=secret_svc.encrypt(token)))
    db.session.commit()


def _long_job(user) -> int:
    """A bulk retry the walking admin started and that still runs (its bar and Cancel button)."""
    from models import LongJob

    job = LongJob(kind="bulk_retry", user_id=user.id, params={}, total=10, status="running")
    db.session.add(job)
    db.session.commit()
    return job.id


def _days_off(user, admin) -> dict:
    """A holiday (Settings → Holidays), an absence of the walked user (Settings → Users → Absences) and one
    of the walking admin (Account information → My absences)."""
    from datetime import date

    from models import Absence, Holiday

    holiday = Holiday(day=date(2026, 12, 25), name="Walked holiday", name_i18n={"it": "Natale"}, recurring=True)
    absence = Absence(user_id=user.id, starts_on=date(2026, 8, 1), ends_on=date(2026, 8, 14), note="Walked absence")
    own = Absence(user_id=admin.id, starts_on=date(2026, 9, 1), ends_on=date(2026, 9, 4), note="Walked own absence")
    db.session.add_all([holiday, absence, own])
    db.session.commit()
    return {"holiday_id": holiday.id, "absence_id": absence.id, "own_absence": own.id}


def _custom_fields():
    """A custom field of every opportunity type, with a value on nothing (so it can be deleted last), and one
    called SEEDED_NAME; the walked opportunity's Fields panel shows the first, its inline edit posts to it."""
    from models import CustomField

    seeded = CustomField(key="seeded", name=SEEDED_NAME, name_i18n={}, field_type="text", options=[])
    walked = CustomField(key="walked_kwp", name="Walked kWp", name_i18n={}, field_type="number", options=[],
                         position=1)
    db.session.add_all([seeded, walked])
    db.session.commit()
    return walked


def _location(name: str):
    from models import Location

    location = Location(name=name, name_i18n={}, address="Via Roma 1", active=True)
    db.session.add(location)
    db.session.commit()
    return location


def build_url(rule, world: World) -> str | None:
    """The rule's URL with real ids from the seed (None when it cannot be built)."""
    ids = world.ids
    values = {}
    for arg in rule.arguments:
        if arg == "filename":
            values[arg] = "css/app.css"
        elif arg == "template_id":
            values[arg] = ids[_template_role(rule.endpoint)]
        elif arg == "type_id" and rule.endpoint.startswith("settings.activity_type"):
            values[arg] = ids["activity_type"]
        elif arg == "absence_id" and rule.endpoint.startswith("auth."):  # one's own absence
            values[arg] = ids["own_absence"]
        elif arg == "action_id" and rule.endpoint.startswith("settings.external_action"):
            values[arg] = ids["external_action"]
        elif arg == "action":
            values[arg] = "open"
        elif arg == "group":
            values[arg] = "on_open"
        elif arg == "token":
            values[arg] = world.token
        elif arg == "source":
            values[arg] = "esign"
        elif arg == "tab":
            values[arg] = "emails"
        elif arg == "ref":  # a field of the opportunity page (services.field_values): the walked custom field
            values[arg] = f"custom:{ids['field_id']}"
        elif arg == "key" and rule.endpoint.startswith("api_"):  # the API names fields by key
            values[arg] = "seeded"
        elif arg in ids:
            values[arg] = ids[arg]
        else:
            values[arg] = 1
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:
        return None


def _template_role(endpoint: str) -> str:
    for role in ("email_template", "report_template", "export_template"):
        if role in endpoint:
            return role
    raise KeyError(endpoint)


# -- what a page holds ------------------------------------------------------------------------------------

@dataclass
class Field:
    name: str
    kind: str  # text, number, date, time, email, checkbox, radio, hidden, password, select, textarea…
    value: str = ""
    options: list[str] = field(default_factory=list)
    hx_get: str | None = None  # a select that swaps in more fields when it changes (the action kinds)
    chosen: list[str] = field(default_factory=list)  # as the page shows it: selected options, ticked boxes

    def valid(self) -> list[str]:
        """What the page would post untouched (a select with nothing chosen: its first real option)."""
        if self.kind == "select":
            return self.chosen or [o for o in self.options if o][:1]
        if self.kind in {"checkbox", "radio"}:
            return self.chosen
        return [self.value]


@dataclass
class Target:
    """Somewhere a page posts to, with the fields it sends."""

    path: str
    fields: dict[str, Field] = field(default_factory=dict)
    # The fields an htmx select's option swaps in: {(select name, option): [field names]}.
    driven: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, f: Field) -> None:
        known = self.fields.get(f.name)
        if known is None:
            self.fields[f.name] = f
        else:
            known.options.extend(o for o in f.options if o not in known.options)
            known.chosen.extend(o for o in f.chosen if o not in known.chosen)


class PageReader(HTMLParser):
    """The forms (action / hx-post), hx-post elements with their hx-vals, links (href) and hx-get of a page."""

    def __init__(self, url: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.url = url
        self.targets: dict[str, Target] = {}
        self.links: set[str] = set()
        self._forms: list[tuple[Target | None, list[Target]]] = []
        self._select: Field | None = None
        self._textarea: Field | None = None

    def _target(self, url: str | None) -> Target | None:
        if not url:
            return None
        path = urlsplit(url).path
        return self.targets.setdefault(path, Target(path))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.add(a["href"])
        if a.get("hx-get") and tag != "form":
            self.links.add(a["hx-get"])
        if tag == "form":
            method = (a.get("method") or "get").lower()
            # A post form without an action posts to the page it is on.
            url = a.get("hx-post") or ((a.get("action") or self.url) if method == "post" else None)
            self._forms.append((self._target(url), []))
            return
        if a.get("hx-post"):
            target = self._target(a["hx-post"])
            for key in json.loads(a.get("hx-vals") or "{}"):
                target.add(Field(key, "hidden"))
            if self._forms:
                self._forms[-1][1].append(target)
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in {"checkbox", "radio"} and self._select is None:
                value = a.get("value") or "y"
                self._add(Field(name, kind, value, [value], chosen=[value] if "checked" in a else []))
            elif kind not in {"submit", "button", "file"}:
                self._add(Field(name, kind, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = Field(name, "select", hx_get=a.get("hx-get"))
            self._add(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.chosen.append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = Field(name, "textarea")
            self._add(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._forms:
            form, inner = self._forms.pop()
            for target in inner:  # buttons posting with hx-include="closest form" send the form's fields
                if form is not None and target is not form:
                    for f in form.fields.values():
                        target.add(f)

    def _add(self, f: Field) -> None:
        if f.name == "csrf_token":
            return  # the test client sends the token in its header; a garbage one would only test CSRF
        if self._forms and self._forms[-1][0] is not None:
            self._forms[-1][0].add(f)


def read_page(html: str, url: str = "") -> PageReader:
    reader = PageReader(url)
    reader.feed(html)
    return reader
