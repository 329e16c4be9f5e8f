from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import LoginForm
from extensions import db, limiter
from services import accounts


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would let a link send users elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
def index():
    """Home: partners land on their assigned opportunities, others on the opportunity list."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_partner:
        return redirect(url_for("history.partner_home"))
    return redirect(url_for("opportunities.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with email and password; the session is renewed so no earlier session id survives."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            login_user(user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
        form.password.errors.append(_("Wrong email or password."))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out and forget the session."""
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; kept on the user's profile when logged in."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        return render_template("error.html", title=_("Bad request"),
                               message=_("Unknown language."), status=400), 400
    session["lang"] = lang
    if current_user.is_authenticated:
        accounts.set_language(current_user, lang)
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.index"))
