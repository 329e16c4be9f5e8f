"""Account → API tokens (SPEC P4): a user's own tokens listed, created (the plaintext shown once), revoked."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from blueprints.auth import bp
from extensions import db
from models.base import utcnow
from services import api_tokens
from services.validation import InvalidData


class TokenForm(FlaskForm):
    """A new token: its name, what it may do, and for how long."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=api_tokens.NAME_MAX)],
                       description=_l("Say what will use it, e.g. \"Website form\" or \"ERP sync\"."))
    scope = SelectField(_l("Access"), default="read", choices=[
        SelectChoice("read", _l("Read only")), SelectChoice("write", _l("Read and write"))])
    days = SelectField(_l("Expires after"), coerce=int, default=90,
                       choices=[SelectChoice(d, _l("%(n)d days", n=d)) for d in api_tokens.EXPIRY_CHOICES])


def _page(form: TokenForm | None = None, status: int = 200, created=None, plaintext: str | None = None):
    response = render_template("auth/api_tokens.html", form=form or TokenForm(), tokens=api_tokens.tokens_of(current_user),
                               status_of=api_tokens.status, now=utcnow(), created=created, plaintext=plaintext)
    headers = {"Cache-Control": "no-store"} if plaintext else {}  # the one copy of the secret: never cached
    return response, status, headers


@bp.route("/account/api-tokens")
@login_required
def api_tokens_page():
    """The user's API tokens (active, expired and revoked) and the form to create one."""
    return _page()


@bp.route("/account/api-tokens", methods=["POST"])
@login_required
def api_token_create():
    """Create a token of one's own; the answer shows its plaintext this once (it is stored hashed)."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        token, plaintext = api_tokens.create_token(current_user, form.name.data, {form.scope.data}, form.days.data)
    except InvalidData as err:
        db.session.rollback()
        for key, message in err.errors.items():
            getattr(form, {"scopes": "scope"}.get(key, key), form.name).errors.append(message)
        return _page(form, 422)
    db.session.commit()
    return _page(TokenForm(formdata=None), created=token, plaintext=plaintext, status=201)


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def api_token_revoke(token_id: int):
    """Revoke one of one's own tokens: it stops working at once (another user's token is a 404)."""
    token = api_tokens.get_own_token(current_user, token_id)
    api_tokens.revoke(token)
    db.session.commit()
    flash(_("The token \"%(name)s\" was revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("auth.api_tokens_page"))
