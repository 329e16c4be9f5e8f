"""What a history cell shows, in SQL: labels in the user's language and translated catalog names, so that a
sort orders rows by the words the user reads (services.history.registry.Column.shown) and a text filter
finds a name as the user's cell shows it (Column.match)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask_babel import get_locale
from sqlalchemy import ColumnElement, case, false, func, select

from extensions import db
from models import ActionRun, User
from models.runs import RUN_STATUSES


def language() -> str:
    """The user's language code (it, es, en), as models.base.translated picks it."""
    try:
        return str(get_locale() or "")[:2]
    except (RuntimeError, AttributeError):  # outside a request
        return ""


def labelled(key: ColumnElement, labels: Mapping, default: ColumnElement | None = None) -> ColumnElement:
    """`key` as the label the cell shows for it in the user's language; another key shows `default`, else
    itself."""
    whens = {k: str(v) for k, v in labels.items()}
    fallback = key if default is None else default
    return case(whens, value=key, else_=fallback) if whens else fallback


def translated_name(model) -> ColumnElement:
    """A catalog row's name in the user's language, else its fallback name (models.base.translated in SQL)."""
    return func.coalesce(func.nullif(model.name_i18n[language()].as_string(), ""), model.name)


def name_matches(model, key: ColumnElement) -> Callable[[str], ColumnElement]:
    """A text filter on a translated catalog name: the typed text is resolved to the ids of the rows whose
    name contains it in any language (as names are resolved to ids elsewhere, services.history.keyset), so
    each user finds the name as their cell shows it. A catalog is small (a flow's substates), so
    its names are read whole."""
    def match(text: str) -> ColumnElement:
        typed = text.casefold()
        ids = [ident for ident, name, i18n in db.session.execute(select(model.id, model.name, model.name_i18n))
               if any(typed in (value or "").casefold() for value in [name, *(i18n or {}).values()])]
        if not ids:
            return false()
        return key.in_(ids)
    return match


def run_status_shown(**instead: str) -> ColumnElement:
    """The run's status label in SQL; `instead` other words for some statuses (e.g. succeeded=Completed)."""
    return labelled(ActionRun.status, {**RUN_STATUSES, **instead})


def ended_shown(done: ColumnElement, labels: Mapping) -> ColumnElement:
    """waiting_or_ended in SQL: a succeeded run shows `done`'s key as `labels` word it, another its status."""
    return case((ActionRun.status == "succeeded", labelled(done, labels)), else_=run_status_shown())


MAX_USER_IDS = 1000


def user_matches(key: ColumnElement) -> Callable[[str], ColumnElement]:
    """A text filter on a user's name, as `key` (the user id column of the row) IN the ids of the users whose
    name contains the typed text: the users are read first (few), then the rows by their user index,
    instead of every row's user being looked up and tested."""
    def match(text: str) -> ColumnElement:
        found = select(User.id).where(func.lower(User.name).contains(text.lower(), autoescape=True))
        ids = list(db.session.execute(found.limit(MAX_USER_IDS + 1)).scalars())
        if not ids:
            return false()
        return key.in_(ids) if len(ids) <= MAX_USER_IDS else key.in_(found)
    return match
