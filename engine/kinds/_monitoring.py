"""What the supervisor's monitoring kinds (seed 002: M1 notify supervisor, M2 add history entry, M3 create
task, M4 complete tasks) share: user fields of active internal users, the placeholders' description, the
"needs a user" prerequisite, and filling a text's placeholders for a run."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import DataRequired, Length

from engine.kinds.base import Missing, RefField, RefsField, check_placeholders, exists, options
from extensions import db
from models import User

# The render context (engine.render.context) already offers the responsible user and the amount.
PLACEHOLDERS_HELP = _l("Placeholders such as {{ owner.name }} (the opportunity's responsible user), "
                       "{{ opportunity.amount }}, {{ opportunity.name }} and {{ client.name }} may be used, "
                       "as in email templates.")


def text_validators(max_length: int, required_message=None) -> list:
    """Length and placeholders checked; blank refused with `required_message` when given."""
    required = [DataRequired(message=required_message)] if required_message else []
    return [*required, Length(max=max_length, message=_l("At most %(max)d characters.")), check_placeholders]


def internal_users() -> list[tuple[int, str]]:
    """(id, name) of every active internal user, by name: whom the monitoring kinds may name."""
    users = db.session.execute(
        select(User.id, User.name).where(User.role != "partner", User.active.is_(True)).order_by(User.name)
    ).all()
    return [(u.id, u.name) for u in users]


def user_field(label, required_message, **kwargs) -> RefField:
    return RefField(label, required_message=required_message,
                    missing_message=_l("The chosen user does not exist any more or is not an active internal user."),
                    **kwargs)


def users_field(label) -> RefsField:
    return RefsField(label, missing_message=_l("One of the chosen users does not exist any more or is not an "
                                               "active internal user."))


def fill_users(*fields) -> None:
    """Offer the active internal users in each of `fields` (RefField or RefsField)."""
    pairs = internal_users()
    for f in fields:
        if isinstance(f, RefsField):
            f.choices = options(pairs)
        else:
            f.set_records(pairs)


def needs_user(kind_label) -> list[Missing]:
    """The kind names a user: at least one active internal user must exist."""
    if exists(User, User.role != "partner", User.active.is_(True)):
        return []
    return [Missing(_("%(kind)s needs an active internal user.", kind=str(kind_label)), "users")]


def active_users(ids) -> list[User]:
    """The users among `ids` that are still active internal users, in the order given, each once."""
    ids = list(dict.fromkeys(int(i) for i in ids or [] if i))
    if not ids:
        return []
    found = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()
             if u.active and not u.is_partner}
    return [found[i] for i in ids if i in found]


def fill_text(source: str, opp, failure) -> str:
    """`source` with its placeholders filled for the opportunity (current locale); a template that cannot be
    filled is a PermanentError with `failure` (a message with %(error)s), e.g. "The title's placeholders…"."""
    from engine import render
    from engine.errors import PermanentError

    try:
        return render.render(source or "", render.context(opp, sources=[source]), html=False).strip()
    except render.RENDER_ERRORS as err:
        raise PermanentError(str(failure) % {"error": render.reason(err)}) from err


def users_summary(ids) -> str:
    n = len(ids or [])
    return str(_l("+ %(n)s users", n=n)) if n else ""
