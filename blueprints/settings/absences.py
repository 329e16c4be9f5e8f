"""Absences (issue 14 item 9): Settings → Users → a user → Absences, and each user's own under Account
information (blueprints.auth.absences). Both pages are this module's `page`, `create` and `delete`."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.settings import bp
from blueprints.settings.forms_days import AbsenceForm
from extensions import db
from models import Absence, User
from services import absences as svc
from services.access import permission_required
from services.validation import InvalidData, show_on_form


def page(user: User, urls: dict, form: AbsenceForm | None = None, status: int = 200):
    """The user's absences and the form to add one; `urls` names where the page posts and links."""
    return render_template("settings/absences/index.html", person=user, form=form or AbsenceForm(),
                           rows=svc.absences_of(user), urls=urls, own=user.id == current_user.id), status


def create(user: User, urls: dict):
    """Record an absence of `user`; refusals come back on the page's form with status 422."""
    form = AbsenceForm()
    if form.validate_on_submit():
        try:
            svc.create_absence(user, form.starts_on.data, form.ends_on.data, form.note.data, current_user)
        except InvalidData as err:
            db.session.rollback()
            show_on_form(form, err)
        else:
            db.session.commit()
            flash(_("Absence recorded."), "success")
            return redirect(urls["page"])
    return page(user, urls, form, 422)


def delete(user: User, absence_id: int, urls: dict):
    """Remove one of `user`'s absences; another user's is 404."""
    absence = db.get_or_404(Absence, absence_id)
    if absence.user_id != user.id:
        abort(404)
    svc.delete_absence(absence, current_user)
    db.session.commit()
    flash(_("Absence deleted."), "success")
    return redirect(urls["page"])


def _urls(user: User) -> dict:
    return {"page": url_for("settings.user_absences", user_id=user.id),
            "create": url_for("settings.user_absence_create", user_id=user.id),
            "delete": lambda absence_id: url_for("settings.user_absence_delete", user_id=user.id,
                                                 absence_id=absence_id)}


def _internal(user_id: int) -> User:
    """An internal user (partner users have no supervisor to stand in for them): else 404."""
    user = db.get_or_404(User, user_id)
    if user.is_partner:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/absences")
@permission_required("settings.manage")
def user_absences(user_id: int):
    """A user's absences, during which their supervisor receives what automation gives them."""
    user = _internal(user_id)
    return page(user, _urls(user))


@bp.route("/users/<int:user_id>/absences", methods=["POST"])
@permission_required("settings.manage")
def user_absence_create(user_id: int):
    """Record an absence of a user."""
    user = _internal(user_id)
    return create(user, _urls(user))


@bp.route("/users/<int:user_id>/absences/<int:absence_id>/delete", methods=["POST"])
@permission_required("settings.manage")
def user_absence_delete(user_id: int, absence_id: int):
    """Delete one of a user's absences."""
    user = _internal(user_id)
    return delete(user, absence_id, _urls(user))


def own_urls() -> dict:
    """The addresses of the current user's own absences page (Account information)."""
    return {"page": url_for("auth.absences"), "create": url_for("auth.absence_create"),
            "delete": lambda absence_id: url_for("auth.absence_delete", absence_id=absence_id)}
