"""Email templates (SPEC S2): subject and HTML body per language, checked in the sandbox when saved,
previewed with a chosen opportunity in a chosen language."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from engine import render
from engine.errors import PermanentError
from engine.recipients import Recipient
from extensions import db
from models import Action, EmailTemplate, User
from services import ServiceError
from services.validation import InvalidData, flush_unique, name_taken

log = logging.getLogger("oppflow")

LANGUAGE_LABELS = {"it": _l("Italian"), "es": _l("Spanish"), "en": _l("English")}
MAX_SUBJECT = 255
MAX_BODY = 200_000


@dataclass
class TemplateData:
    name: str
    subjects: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)


def list_templates() -> list[tuple[EmailTemplate, int]]:
    """Every email template by name, with how many automatic actions use it."""
    usage = _usage()
    rows = db.session.execute(select(EmailTemplate).order_by(EmailTemplate.name)).scalars()
    return [(t, usage.get(t.id, 0)) for t in rows]


def _usage() -> dict[int, int]:
    counts: dict[int, int] = {}
    for config in db.session.execute(select(Action.config)).scalars():
        template_id = (config or {}).get("email_template_id")
        if template_id:
            counts[template_id] = counts.get(template_id, 0) + 1
    return counts


def check(template: EmailTemplate | None, data: TemplateData) -> dict[str, str]:
    """Field messages (`name`, `subject_it`, `body_es`…) for a template that cannot be saved: each
    language's subject and body must parse and stay inside the sandbox; at least one language written."""
    errors = {}
    if not data.name.strip():
        errors["name"] = _("Enter a name.")
    elif len(data.name.strip()) > 120:
        errors["name"] = _("At most %(max)d characters.", max=120)
    elif _name_taken(data.name, template.id if template else None):
        errors["name"] = _("Another email template already has this name.")
    written = 0
    for lang, language in LANGUAGE_LABELS.items():
        subject, body = (data.subjects.get(lang) or "").strip(), (data.bodies.get(lang) or "").strip()
        if bool(subject) != bool(body):
            errors[f"subject_{lang}" if not subject else f"body_{lang}"] = _(
                "Write both the subject and the body in %(language)s, or leave both empty.", language=language)
            continue
        written += bool(subject)
        if len(subject) > MAX_SUBJECT:
            errors[f"subject_{lang}"] = _("At most %(max)d characters.", max=MAX_SUBJECT)
        if len(body) > MAX_BODY:
            errors[f"body_{lang}"] = _("At most %(max)d characters.", max=MAX_BODY)
        for part, source, html in (("subject", subject, False), ("body", body, True)):
            problem = render.check_source(source, html) if source else None
            if problem and f"{part}_{lang}" not in errors:
                errors[f"{part}_{lang}"] = _message(part, language, problem)
    if not written and not any(k.startswith(("subject_", "body_")) for k in errors):
        errors["subject_en"] = _("Write the subject and the body in at least one language.")
    return errors


def _message(part: str, language, problem: render.Problem) -> str:
    line = problem.line if problem.line is not None else "?"
    if part == "subject":
        return _("Subject in %(language)s, line %(line)s: %(reason)s", language=language, line=line,
                 reason=problem.reason)
    return _("Body in %(language)s, line %(line)s: %(reason)s", language=language, line=line,
             reason=problem.reason)


def _name_taken(name: str, own_id: int | None) -> bool:
    return name_taken(EmailTemplate.name, name, own_id)


def _apply(template: EmailTemplate, data: TemplateData) -> None:
    template.name = data.name.strip()
    template.subjects = {lang: (data.subjects.get(lang) or "").strip() for lang in LANGUAGE_LABELS
                         if (data.subjects.get(lang) or "").strip()}
    template.bodies = {lang: (data.bodies.get(lang) or "").strip() for lang in LANGUAGE_LABELS
                       if (data.bodies.get(lang) or "").strip()}


def create_template(data: TemplateData, actor: User) -> EmailTemplate:
    """Create an email template that passed the checks."""
    errors = check(None, data)
    if errors:
        raise InvalidData(errors)
    template = EmailTemplate()
    _apply(template, data)
    db.session.add(template)
    flush_unique("name", _("Another email template already has this name."))
    log.info("email template %s created by %s", template.id, actor.id)
    return template


def update_template(template: EmailTemplate, data: TemplateData, actor: User) -> EmailTemplate:
    """Save an email template's new name and texts; nothing changes if any part is refused."""
    errors = check(template, data)
    if errors:
        raise InvalidData(errors)
    _apply(template, data)
    flush_unique("name", _("Another email template already has this name."))
    log.info("email template %s updated by %s", template.id, actor.id)
    return template


def delete_template(template: EmailTemplate, actor: User) -> None:
    """Delete a template no automatic action uses."""
    used = _usage().get(template.id, 0)
    if used:
        raise ServiceError(ngettext("%(num)d automatic action uses this template: change it first.",
                                    "%(num)d automatic actions use this template: change them first.", used), 409)
    db.session.delete(template)
    db.session.flush()
    log.info("email template %s deleted by %s", template.id, actor.id)


@dataclass
class Preview:
    language: str
    wanted: str
    subject: str
    html: str
    text: str
    recipient: Recipient


def preview(data: TemplateData, opp, lang: str) -> Preview:
    """The (unsaved) template as the opportunity's client would get it in `lang`, through the same
    rendering as sending; InvalidData when the template cannot be saved as it is."""
    errors = check(None, TemplateData("preview", data.subjects, data.bodies))
    errors.pop("name", None)
    if errors:
        raise InvalidData(errors)
    draft = EmailTemplate(name=data.name or "preview", subjects=data.subjects, bodies=data.bodies)
    customer = opp.customer
    recipient = Recipient("client", customer.email or "", customer.name, lang)
    try:
        letter = render.compose(draft, opp, recipient)
    except PermanentError as err:
        raise ServiceError(str(err), 422) from err
    return Preview(letter.language, lang, letter.subject, letter.html, letter.text, recipient)
