"""M2 Add history entry (seed 002, "Aggiungere voce alla cronologia"): a text with placeholders written on the
opportunity's timeline on behalf of a chosen user, e.g. each time a rule was broken, so a supervisor can
count them in the history."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form, TextAreaField

from engine.kinds import _monitoring
from engine.kinds.base import Kind, Lookup, Missing, quoted, written
from engine.kinds.send_email import OPPORTUNITY_RECORDS
from extensions import db
from models import HistoryEntry, User
from models.base import utcnow

TEXT_MAX = 2000
FAILED_TEXT = _l("The text's placeholders could not be filled: %(error)s")


class AddHistoryEntry(Kind):
    key = "add_history_entry"
    opportunity_records = OPPORTUNITY_RECORDS
    label = _l("Add history entry")
    help = _l("Writes a text on the opportunity's timeline on behalf of a chosen user, e.g. “The substate was "
              "not closed in time”; the history lists the entries, so a supervisor can count them.")

    class ConfigForm(Form):
        text = TextAreaField(_l("Text"), validators=_monitoring.text_validators(TEXT_MAX, _l("Write the text of the entry.")),
                             description=_monitoring.PLACEHOLDERS_HELP)
        author_id = _monitoring.user_field(_l("Created by"), _l("Choose the user the entry is written for."))

    def fill(self, form, substate) -> None:
        _monitoring.fill_users(form.author_id)

    def prerequisites(self, substate) -> list[Missing]:
        return _monitoring.needs_user(self.label)

    def config_of(self, form) -> dict:
        return {"text": (form.text.data or "").strip(), "author_id": form.author_id.data}

    def summary(self, config: dict, lookup: Lookup) -> str:
        return "{} · {}".format(quoted(lookup.name(User, config.get("author_id"))), (config.get("text") or "")[:60])

    def dry_details(self, run) -> list[str]:
        entry = db.session.get(HistoryEntry, (run.result or {}).get("history_entry_id") or 0)
        return written(_("History entry"), entry.text) if entry is not None else []

    def execute(self, run) -> dict:
        """Write the entry in the run's transaction, which also records the run's outcome (engine.executor): a
        run that wrote its entry has succeeded and is never executed again, so no lookup of an earlier entry
        is needed (HistoryEntry.run_id is unique besides)."""
        from engine.errors import PermanentError

        config = run.config or {}
        author = db.session.get(User, config.get("author_id") or 0)
        if author is None:
            raise PermanentError(_("The user this action writes the entry for no longer exists."))
        text = _monitoring.fill_text(config.get("text") or "", run.opportunity, FAILED_TEXT)
        if not text:
            raise PermanentError(_("The text of the entry is empty once its placeholders are filled."))
        entry = HistoryEntry(opportunity_id=run.opportunity_id, text=text, author_id=author.id, run_id=run.id,
                             created_at=utcnow())
        db.session.add(entry)
        db.session.flush()
        return {"history_entry_id": entry.id, "author_id": author.id}


KIND = AddHistoryEntry()
