"""External sources and their actions (SPEC S10): who may call POST /hooks/<source>, with which secret,
and which substates close and open when a source reports an event."""

from __future__ import annotations

import re
import secrets as random
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import Action, ExternalSource, ExternalSourceAction, Substate
from models.signatures import EVENTS
from services import ServiceError
from services import secrets as secret_store
from services.validation import InvalidData

secret_store.register(ExternalSource, "secret_encrypted")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def list_sources() -> list[tuple[ExternalSource, list[ExternalSourceAction]]]:
    """Every source with its actions, by name."""
    sources = db.session.execute(select(ExternalSource).order_by(ExternalSource.name)).scalars().all()
    actions = db.session.execute(select(ExternalSourceAction).order_by(ExternalSourceAction.name)).scalars().all()
    return [(s, [a for a in actions if a.source_name == s.name]) for s in sources]


def _new_secret() -> str:
    return "whsec_" + random.token_urlsafe(32)


def create_source(name: str, label: str) -> tuple[ExternalSource, str]:
    """A new source with a fresh secret; returns the plaintext secret, shown this once."""
    name, label = (name or "").strip(), (label or "").strip()
    errors = {}
    if not _NAME.match(name):
        errors["name"] = _("Use 1–60 lowercase letters, digits, hyphens or underscores (it is part of the URL).")
    elif db.session.execute(select(ExternalSource.id).where(ExternalSource.name == name)).first():
        errors["name"] = _("A source with this name already exists.")
    if len(label) > 120:
        errors["label"] = _("At most 120 characters.")
    if errors:
        raise InvalidData(errors)
    secret = _new_secret()
    source = ExternalSource(name=name, label=label or name, secret_encrypted=secret_store.encrypt(secret))
    db.session.add(source)
    db.session.flush()
    return source, secret


def regenerate_secret(source: ExternalSource) -> str:
    """Replace the source's secret; the old one stops working at once. Returns the new one, shown once."""
    secret = _new_secret()
    source.secret_encrypted = secret_store.encrypt(secret)
    db.session.flush()
    return secret


def delete_source(source: ExternalSource) -> None:
    """Delete a source that no external-source action uses."""
    used = db.session.execute(select(func.count()).select_from(ExternalSourceAction)
                              .where(ExternalSourceAction.source_name == source.name)).scalar_one()
    if used:
        raise ServiceError(_("Delete or move the actions of this source first."), 409)
    db.session.delete(source)
    db.session.flush()


@dataclass
class ActionData:
    name: str
    source_name: str
    event: str
    close_ids: list[int] = field(default_factory=list)
    open_ids: list[int] = field(default_factory=list)


def save_action(action: ExternalSourceAction | None, data: ActionData) -> ExternalSourceAction:
    """Create or update an external-source action: closes first, then opens, in the order chosen."""
    name = (data.name or "").strip()
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = _("Enter a name of at most 120 characters.")
    if not db.session.execute(select(ExternalSource.id).where(ExternalSource.name == data.source_name)).first():
        errors["source_name"] = _("Choose an external source.")
    if data.event not in EVENTS:
        errors["event"] = _("Choose the event.")
    ids = set(data.close_ids) | set(data.open_ids)
    known = set(db.session.execute(select(Substate.id).where(Substate.id.in_(ids))).scalars()) if ids else set()
    if ids - known:
        errors["open_ids"] = _("One of the chosen substates does not exist any more.")
    elif not ids:
        errors["open_ids"] = _("Choose at least one substate to close or open.")
    elif set(data.close_ids) & set(data.open_ids):
        errors["open_ids"] = _("A substate cannot be both closed and opened by the same action.")
    if errors:
        raise InvalidData(errors)
    if action is None:
        action = ExternalSourceAction()
        db.session.add(action)
    action.name, action.source_name, action.event = name, data.source_name, data.event
    action.actions = ([{"op": "close", "substate_id": i} for i in data.close_ids]
                      + [{"op": "open", "substate_id": i} for i in data.open_ids])
    db.session.flush()
    return action


def delete_action(action: ExternalSourceAction) -> None:
    """Delete an external-source action that no automatic action refers to."""
    in_use = [a for a in db.session.execute(select(Action).where(Action.kind == "esignature")).scalars()
              if (a.config or {}).get("external_action_id") == action.id]
    if in_use:
        raise ServiceError(_("Automatic actions use it: change those first."), 409)
    db.session.delete(action)
    db.session.flush()


def choose_provider(key: str) -> None:
    """Use this signature provider from now on ('' switches e-signature off; its actions then show the
    missing prerequisite in the designer and their runs fail with the reason)."""
    from engine import signature
    from services import app_settings

    if key and key not in signature.PROVIDERS:
        raise InvalidData({"provider": _("Choose one of the installed providers.")})
    app_settings.put(app_settings.ESIGN_PROVIDER, key)
