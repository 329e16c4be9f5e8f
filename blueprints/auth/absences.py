"""Account information → My absences: each internal user records their own absences (issue 14 item 9)."""

from flask_login import current_user

from blueprints.auth import bp
from blueprints.settings import absences as pages
from services.access import internal_required


@bp.route("/account/absences")
@internal_required
def absences():
    """The current user's absences and the form to add one."""
    return pages.page(current_user, pages.own_urls())


@bp.route("/account/absences", methods=["POST"])
@internal_required
def absence_create():
    """Record one of one's own absences."""
    return pages.create(current_user, pages.own_urls())


@bp.route("/account/absences/<int:absence_id>/delete", methods=["POST"])
@internal_required
def absence_delete(absence_id: int):
    """Delete one of one's own absences (another user's is 404)."""
    return pages.delete(current_user, absence_id, pages.own_urls())
