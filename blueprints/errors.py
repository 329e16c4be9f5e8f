"""Error pages: translated, never a traceback; htmx requests get a short message for the toast."""

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from blueprints.api.problems import api_request, for_status, from_http_exception
from extensions import db
from services import ServiceError

log = logging.getLogger("oppflow")


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please check what you entered.")),
        401: (_("Not authenticated"), _("Please log in or send a valid API token.")),
        403: (_("Not allowed"), _("You do not have the permission needed for this page or action.")),
        409: (_("Conflict"), _("This conflicts with the current data. Please reload the page and try again.")),
        404: (_("Not found"), _("This page does not exist, or you do not have access to it.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        413: (_("Too large"), _("What you sent is larger than allowed.")),
        422: (_("Cannot be saved"), _("Please correct what you entered.")),
        415: (_("Unsupported media type"), _("Send the request body as JSON (Content-Type: application/json).")),
        429: (_("Too many attempts"), _("Too many attempts. Please wait a minute and try again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. It has been logged; please try again.")),
    }


def render_error(status: int, message: str | None = None, err: Exception | None = None):
    """Render the error for a page or, for htmx, as a fragment the toast shows."""
    title, default = _messages().get(status, _messages()[500])
    message = message or default
    if api_request():
        return for_status(status, message, getattr(err, "errors", None))
    if request.headers.get("HX-Request") == "true":
        return render_template("_error_fragment.html", title=title, message=message), status
    return render_template("error.html", title=title, message=message, status=status), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return render_error(400, _("Your session expired or the form was stale. Please reload the page and try again."))

    @app.errorhandler(ServiceError)
    def service_error(err: ServiceError):
        db.session.rollback()
        return render_error(err.status, err.message, err)

    @app.errorhandler(IntegrityError)
    def integrity_error(err: IntegrityError):
        # Services check uniqueness and references first and say so on the form (flush_unique); this is the
        # last resort for a race nothing else caught: nothing was saved, and the user is told so in words.
        db.session.rollback()
        log.warning("integrity error on %s %s: %s", request.method, request.path, err.orig)
        return render_error(409, _("This could not be saved: it conflicts with something saved at the same "
                                   "moment. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if api_request():
            # Our own abort(…, description=…) says what happened; werkzeug's stock text does not.
            own = err.description if err.description != type(err).description else None
            return from_http_exception(err, str(own) if own else None)
        return render_error(err.code or 500)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
