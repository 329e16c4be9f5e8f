"""POST /hooks/<source> (signed webhook, CSRF-exempt) and /sign/<token> (the simulator's signing page).

Neither needs a login; both answer 404 to anything they do not know, with nothing about what exists.
"""

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.public import bp
from extensions import csrf, db
from models import SignatureRequest
from services import webhooks


@bp.route("/hooks/<source>", methods=["POST"])
@csrf.exempt
def hook(source: str):
    """An external source's event, checked by HMAC signature, timestamp and replay; answered in JSON."""
    answer = webhooks.handle(source, request.headers, request.get_data(cache=False))
    return jsonify(answer.body), answer.status


def _request_or_404(token: str) -> SignatureRequest:
    # Only the simulator's requests have a signing page here; references are 43 url-safe characters.
    if len(token) < 32 or len(token) > 128:
        abort(404)
    found = db.session.execute(
        select(SignatureRequest).where(SignatureRequest.reference == token, SignatureRequest.provider == "simulator")
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


@bp.route("/sign/<token>")
def sign_page(token: str):
    """The document to sign, with Sign and Decline buttons."""
    sig = _request_or_404(token)
    return render_template("public/sign.html", sig=sig)


@bp.route("/sign/<token>/document")
def sign_document(token: str):
    """The PDF to sign."""
    sig = _request_or_404(token)
    return sig.document, 200, {"Content-Type": "application/pdf",
                               "Content-Disposition": f'inline; filename="{sig.document_name}"'}


@bp.route("/sign/<token>", methods=["POST"])
def sign_answer(token: str):
    """Sign or decline: delivered as the provider's signed callback to our webhook."""
    from engine.signature import simulator

    sig = _request_or_404(token)
    outcome = request.form.get("answer")
    if outcome not in ("signed", "declined"):
        return render_template("public/sign.html", sig=sig, error=_("Choose Sign or Decline.")), 422
    if sig.status not in ("sending", "sent"):
        return render_template("public/sign.html", sig=sig), 409
    answer = simulator.complete(sig, outcome)
    if answer.status != 200:
        db.session.rollback()
        return render_template("public/sign.html", sig=sig, error=answer.body.get("error")), 409
    return redirect(url_for("public.sign_page", token=token))
