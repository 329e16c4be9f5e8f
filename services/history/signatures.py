"""History tab Signatures (SPEC H1, A8): the runs that sent a document for e-signature, and the runs the
provider's callback recorded when the signer answered (kind `external_source`, made by services.webhooks),
each beside its SignatureRequest: document, signer, provider and where the request stands."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_

from models import ActionRun, ReportTemplate, SignatureRequest
from models.runs import RECORD_KINDS
from models.signatures import EVENTS, SIGNATURE_STATUSES
from services.history.registry import (
    COMMON_STATUSES,
    Column,
    Tab,
    opportunity_column,
    register,
    run_statuses,
    status_column,
    waiting_or_ended,
    when_column,
)

REQUEST = 2


def _join(stmt):
    """The request a send run made (its run_id), or the one a callback run answered (its result names it);
    the configured report template names the document while no request exists yet."""
    answered = ActionRun.result["signature_request_id"].as_integer()
    return (stmt.outerjoin(SignatureRequest, or_(SignatureRequest.run_id == ActionRun.id,
                                                 SignatureRequest.id == answered))
            .outerjoin(ReportTemplate, ReportTemplate.id == ActionRun.config["report_template_id"].as_integer()))


def _kind_options() -> dict:
    from engine.kinds import KINDS

    return {"esignature": (KINDS["esignature"].label, ActionRun.kind == "esignature"),
            "external_source": (RECORD_KINDS["external_source"], ActionRun.kind == "external_source")}


ACTIONS = _kind_options()
DOCUMENT = func.coalesce(SignatureRequest.document_name, ReportTemplate.label + ".pdf")


def _signer(row) -> str:
    request = row[REQUEST]
    if request is None:
        return ""
    return f"{request.signer_name} <{request.signer_email}>" if request.signer_name else request.signer_email


def _provider(row) -> str:
    from engine.signature import PROVIDERS

    request = row[REQUEST]
    if request is None:
        return ""
    provider = PROVIDERS.get(request.provider)
    return str(provider.label) if provider is not None else request.provider


def _status(row):
    """A send run says where its request stands (sent, signed, declined); a callback run the event it got."""
    run, request = row[0], row[REQUEST]
    if run.kind == "external_source":
        event = (run.config or {}).get("event")
        return waiting_or_ended(row, lambda: (EVENTS.get(event, event or ""), "succeeded"))
    if request is None:
        return waiting_or_ended(row, lambda: (run.status_label, run.status))
    css = {"signed": "succeeded", "declined": "failed"}.get(request.status, "pending")
    return waiting_or_ended(row, lambda: (request.status_label, css))


STATUSES = {
    **{key: (label, SignatureRequest.status == key) for key, label in SIGNATURE_STATUSES.items()},
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="signatures", label=_l("Signatures"), kinds=("esignature", "external_source"), position=70,
    entities=(SignatureRequest, DOCUMENT),
    join=_join,
    columns=[
        opportunity_column(),
        Column("action", _l("Action"), ActionRun.kind, lambda row: str(ACTIONS[row[0].kind][0]),
               filter="select", options=ACTIONS),
        Column("document", _l("Document"), DOCUMENT, lambda row: row[3] or ""),
        # Sorted by address, filtered on address and name alike.
        Column("signer", _l("Signer"), SignatureRequest.signer_email + " " + SignatureRequest.signer_name,
               _signer),
        Column("provider", _l("Provider"), SignatureRequest.provider, _provider, filter="select"),
        when_column(),
        status_column(STATUSES, _status),
    ],
))
