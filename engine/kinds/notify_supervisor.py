"""M1 Notify supervisor (seed 002, "Avvisare il supervisore"): a message with placeholders to the supervisor
of the opportunity's responsible user and to chosen users, in the app and, when chosen, by email.

Each recipient reads the message in their own language (amounts and dates formatted for them). The in-app
notifications are written in the run's transaction; the emails go through engine.outbox, so each is sent
at most once and a retry after a partial failure sends only what is missing.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import select
from wtforms import BooleanField, Form, TextAreaField
from wtforms.validators import ValidationError

from engine.kinds import _monitoring, _refs
from engine.kinds.base import Kind, Lookup, quoted, written
from engine.kinds.send_email import OPPORTUNITY_RECORDS
from extensions import db
from models import Notification, SmtpCredential, User

MESSAGE_MAX = 2000
FAILED_MESSAGE = _l("The message's placeholders could not be filled: %(error)s")


class NotifySupervisor(Kind):
    key = "notify_supervisor"
    opportunity_records = OPPORTUNITY_RECORDS
    label = _l("Notify supervisor")
    help = _l("Sends a message to the supervisor of the opportunity's responsible user (and to chosen users): "
              "a notification in the app and, if chosen, an email in each recipient's language. E.g. scheduled "
              "a day after the substate opens: the supervisor hears that it is still open.")

    class ConfigForm(Form):
        message = TextAreaField(
            _l("Message"), validators=_monitoring.text_validators(MESSAGE_MAX, _l("Write the message.")),
            description=_monitoring.PLACEHOLDERS_HELP)
        include_supervisor = BooleanField(_l("Notify the supervisor of the opportunity's responsible user"),
                                          default=True)
        user_ids = _monitoring.users_field(_l("Also notify these users (optional)"))
        by_email = BooleanField(_l("Also send it by email"))
        smtp_credential_id = _refs.smtp_field()

        def validate_user_ids(self, field) -> None:
            if not self.include_supervisor.data and not field.data:
                raise ValidationError(_("Choose who receives the message: the supervisor, other users, or both."))

    def fill(self, form, substate) -> None:
        _monitoring.fill_users(form.user_ids)
        _refs.fill_smtp(form.smtp_credential_id)
        form.smtp_credential_id.description = _l("Needed only when the message is also sent by email.")
        if not form.by_email.data:  # the credentials matter only for the email
            form.smtp_credential_id.required_message = None

    def config_of(self, form) -> dict:
        by_email = bool(form.by_email.data)
        return {"message": (form.message.data or "").strip(), "include_supervisor": bool(form.include_supervisor.data),
                "user_ids": sorted(set(form.user_ids.data or [])), "by_email": by_email,
                "smtp_credential_id": form.smtp_credential_id.data if by_email else None}

    def summary(self, config: dict, lookup: Lookup) -> str:
        parts = [str(_l("supervisor"))] if config.get("include_supervisor") else []
        extra = _monitoring.users_summary(config.get("user_ids"))
        if extra:
            parts.append(extra)
        text = " ".join(parts)
        if config.get("by_email"):
            text += " · " + str(_l("also by email (%(smtp)s)",
                                   smtp=quoted(lookup.name(SmtpCredential, config.get("smtp_credential_id")))))
        return f"{text} · {(config.get('message') or '')[:60]}"

    def execute(self, run) -> dict:
        """Notify each recipient once (in the app, then by email when chosen); nobody to notify is a skip."""
        from engine import outbox
        from engine.errors import Skip
        from services import absences
        from services.notifications import notify, opportunity_link

        config, opp = run.config or {}, run.opportunity
        supervisor_ids = []
        if config.get("include_supervisor"):
            owner = opp.owner
            if owner is not None and owner.supervisor_id:
                supervisor_ids = [owner.supervisor_id]
        chosen = _monitoring.active_users(supervisor_ids + list(config.get("user_ids") or []))
        # An absent recipient's stand-in (services.absences) receives it instead, once.
        stand_ins: list[dict] = []
        people = list({p.id: p for p in (absences.resolve(c, stand_ins) for c in chosen)}.values())
        if not people:
            raise Skip("no_supervisor")  # models.runs.REASONS words it in the reader's language
        cred = None
        if config.get("by_email"):
            cred = outbox.check_credentials(config.get("smtp_credential_id"))
        texts = self._texts(config.get("message") or "", opp, {_language(p) for p in people})
        already = self._notified(run)
        link = opportunity_link(opp.id)
        for person in people:
            if person.id not in already:
                notify([person.id], "supervisor", {"opportunity": opp.name}, link, body=texts[_language(person)],
                       run_id=run.id)
        result = {"recipient_ids": [p.id for p in people], "emailed": 0,
                  "supervisor_found": bool(supervisor_ids and supervisor_ids[0] in {c.id for c in chosen})}
        if stand_ins:
            result["stand_ins"] = stand_ins
        if cred is None:
            return result
        outgoing = [self._letter(person, opp, texts[_language(person)]) for person in people]
        sent = outbox.send(run, cred, None, outgoing, result)
        sent["emailed"] = sum(1 for e in sent.get("emails", []) if e.get("status") == "sent")
        return sent

    def dry_details(self, run) -> list[str]:
        rows = db.session.execute(select(User.name, Notification.body).join(User, User.id == Notification.user_id)
                                  .where(Notification.run_id == run.id).order_by(Notification.id)).all()
        return [line for name, body in rows for line in written(_("Notification to %(who)s", who=name), body)]

    @staticmethod
    def _texts(source: str, opp, languages: set[str]) -> dict[str, str]:
        """The message filled in once per recipients' language."""
        texts = {}
        for lang in sorted(languages):
            with force_locale(lang):
                texts[lang] = _monitoring.fill_text(source, opp, FAILED_MESSAGE)
        return texts

    @staticmethod
    def _notified(run) -> set[int]:
        """Users this run already notified: an attempt after a transient email failure (the notifications
        were committed before the server was contacted) does not notify them again."""
        if run.attempts <= 1:
            return set()
        return set(db.session.execute(select(Notification.user_id).where(Notification.run_id == run.id)).scalars())

    @staticmethod
    def _letter(person, opp, text: str):
        """The message to one user, in their language (engine.recipients: the default when unset)."""
        from engine import outbox
        from engine.mail import Letter
        from engine.recipients import Recipient
        from engine.render import html_document

        rcpt = Recipient("user", person.email, person.name, _language(person))
        with force_locale(rcpt.language):
            subject = _("Notification about %(opportunity)s", opportunity=opp.name)
        html = "<p>" + str(escape(text)).replace("\n", "<br>\n") + "</p>"
        letter = Letter(to=rcpt.address, to_name=rcpt.name, subject=subject,
                        html=html_document(html, rcpt.language), text=text, language=rcpt.language)
        return outbox.Outgoing(rcpt, letter)


def _language(user) -> str:
    from engine.recipients import language_of

    return language_of(user.language)


KIND = NotifySupervisor()
