"""Flask extensions, created here and bound to the app in create_app."""

from flask import g
from flask_babel import Babel, Domain
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class _ContextDomain(Domain):
    """Flask-Babel's message domain, keeping the translations of the current locale on the context.
    Flask-Babel looks the locale up again and keys its cache by the locale's name for each string (a page
    translates hundreds); here a string costs one look at the context while its locale is the same object.
    force_locale (an email in its recipient's language) and refresh() put another locale object there, so the
    translations follow them."""

    def get_translations(self):
        state = g.get("_flask_babel") if g else None
        locale = getattr(state, "babel_locale", None)
        kept = getattr(state, "oppflow_translations", None)
        if kept is not None and locale is not None and kept[0] is locale:
            return kept[1]
        translations = super().get_translations()
        if state is not None:
            state.oppflow_translations = (getattr(state, "babel_locale", None), translations)
        return translations


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
babel.domain_instance = _ContextDomain()  # replaces Flask-Babel's default domain (a cached property)
csrf = CSRFProtect()
htmx = Htmx()
# Limits apply only where a route asks for one (login); storage is bound in create_app.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
