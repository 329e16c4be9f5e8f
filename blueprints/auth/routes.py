from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import LoginForm, PasswordChangeForm
from blueprints.redirects import safe_next
from extensions import db, limiter
from services import accounts, sessions


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
            sessions.start(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("auth.index"))
        form.password.errors.append(_("Wrong email or password."))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out: the session ends on the server too, so a copy of the cookie opens nothing afterwards."""
    sessions.end_current()
    db.session.commit()
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
    return redirect(safe_next(request.form.get("next")) or url_for("auth.index"))


@bp.route("/account")
@login_required
def account():
    """Account information: the user's details, the way to the action history, password and sessions."""
    return _account_page()


def _account_page(password_form: PasswordChangeForm | None = None, status: int = 200):
    return render_template("auth/account.html", password_form=password_form or PasswordChangeForm(),
                           open_sessions=sessions.open_sessions(current_user),
                           is_current=sessions.is_current), status


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    """Change one's own password; every other browser's session ends (this one stays logged in)."""
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _account_page(form, 422)
    if not current_user.check_password(form.current.data):
        form.current.errors.append(_("The current password is wrong."))
        return _account_page(form, 422)
    current_user.set_password(form.new.data)
    ended = sessions.end_all(current_user, keep_current=True)
    db.session.commit()
    flash(_("Your password was changed; %(n)d other session(s) ended.", n=ended), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/sessions/end-all", methods=["POST"])
@login_required
def logout_everywhere():
    """Log out everywhere: every session of this user ends, this browser's too."""
    sessions.end_all(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have been logged out on every device."), "info")
    return redirect(url_for("auth.login"))
