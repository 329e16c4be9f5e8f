"""History tab Signatures (SPEC H1, A8): the runs that sent a document for e-signature, and the runs the
provider's callback recorded when the signer answered (kind `external_source`, made by services.webhooks),
each beside its SignatureRequest: document, signer, provider and where the request stands."""

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_
from sqlalchemy.orm import aliased

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
from services.history.shown import labelled, run_status_shown

# A send run made its request (request.run_id); a callback run answered one (its result names it, as does a
# send run's once it succeeded). Two plain equality joins rather than one OR: both planners can then hash
# or index-join them, and every value below reads "the run's own request, else the answered one".
_answered = aliased(SignatureRequest, name="answered_request")
OWN, ANSWERED, DOC = 2, 3, 4


def _join(stmt):
    """Both requests, and the configured report template that names the document while none exists yet."""
    return (stmt.outerjoin(SignatureRequest, SignatureRequest.run_id == ActionRun.id)
            .outerjoin(_answered, _answered.id == ActionRun.result["signature_request_id"].as_integer())
            .outerjoin(ReportTemplate, ReportTemplate.id == ActionRun.config["report_template_id"].as_integer()))


def _either(attr: str):
    return func.coalesce(getattr(SignatureRequest, attr), getattr(_answered, attr))


def _either_is(attr: str, value: str):
    """Own or answered request has `value`: the same rows as `_either(attr) == value` (a run that has both
    has the same request twice), which the planners estimate as common, not rare, so they walk the
    newest runs and stop at one page instead of joining every run first."""
    return or_(getattr(SignatureRequest, attr) == value, getattr(_answered, attr) == value)


def _request(row) -> SignatureRequest | None:
    return row[OWN] if row[OWN] is not None else row[ANSWERED]


def _kind_options() -> dict:
    from engine.kinds import KINDS

    return {"esignature": (KINDS["esignature"].label, ActionRun.kind == "esignature"),
            "external_source": (RECORD_KINDS["external_source"], ActionRun.kind == "external_source")}


ACTIONS = _kind_options()
DOCUMENT = func.coalesce(SignatureRequest.document_name, _answered.document_name, ReportTemplate.label + ".pdf")
# As _signer shows it: "name <address>", or the address alone; sorted and filtered so.
_NAME, _ADDRESS = _either("signer_name"), _either("signer_email")
SIGNER = case((func.coalesce(_NAME, "") != "", _NAME + " <" + _ADDRESS + ">"), else_=_ADDRESS)
PROVIDER = _either("provider")


class _Providers(Mapping):
    """The provider select's options, read from engine.signature's registry when the page is drawn (an
    install's own provider registers later than this module loads). Providers are settings, not any
    company's data, so listing them all leaks nothing — and spares a scan of every request for them."""

    def _labels(self) -> dict:
        from engine.signature import PROVIDERS

        return {key: (provider.label, _either_is("provider", key)) for key, provider in PROVIDERS.items()}

    def __getitem__(self, key):
        return self._labels()[key]

    def __iter__(self):
        return iter(self._labels())

    def __len__(self) -> int:
        return len(self._labels())


def _signer(row) -> str:
    request = _request(row)
    if request is None:
        return ""
    return f"{request.signer_name} <{request.signer_email}>" if request.signer_name else request.signer_email


def _provider(row) -> str:
    from engine.signature import PROVIDERS

    request = _request(row)
    if request is None:
        return ""
    provider = PROVIDERS.get(request.provider)
    return str(provider.label) if provider is not None else request.provider


def _status(row):
    """A send run says where its request stands (sent, signed, declined); a callback run the event it got."""
    run, request = row[0], _request(row)
    if run.kind == "external_source":
        event = (run.config or {}).get("event")
        return waiting_or_ended(row, lambda: (EVENTS.get(event, event or ""), "succeeded"))
    if request is None:
        return waiting_or_ended(row, lambda: (run.status_label, run.status))
    css = {"signed": "succeeded", "declined": "failed"}.get(request.status, "pending")
    return waiting_or_ended(row, lambda: (request.status_label, css))


def _provider_shown():
    from engine.signature import PROVIDERS

    return labelled(PROVIDER, {key: provider.label for key, provider in PROVIDERS.items()})


def _status_shown():
    """_status in SQL: the callback's event, the request's status, else the run's own status."""
    key = case((ActionRun.status != "succeeded", ActionRun.status),
               (ActionRun.kind == "external_source", literal("event:") + ActionRun.config["event"].as_string()),
               (and_(SignatureRequest.id.is_(None), _answered.id.is_(None)), ActionRun.status),
               else_=literal("request:") + _either("status"))
    labels = {**{f"event:{k}": v for k, v in EVENTS.items()},
              **{f"request:{k}": v for k, v in SIGNATURE_STATUSES.items()}}
    return labelled(key, labels, default=run_status_shown())


STATUSES = {
    **{key: (label, _either_is("status", key)) for key, label in SIGNATURE_STATUSES.items()},
    **run_statuses(*COMMON_STATUSES),
}

TAB = register(Tab(
    key="signatures", label=_l("Signatures"), kinds=("esignature", "external_source"), position=70,
    entities=(SignatureRequest, _answered, DOCUMENT),
    join=_join,
    columns=[
        opportunity_column(),
        Column("action", _l("Action"), ActionRun.kind, lambda row: str(ACTIONS[row[0].kind][0]),
               filter="select", options=ACTIONS,
               shown=lambda: labelled(ActionRun.kind, {key: label for key, (label, _cond) in ACTIONS.items()})),
        Column("document", _l("Document"), DOCUMENT, lambda row: row[DOC] or ""),
        Column("signer", _l("Signer"), SIGNER, _signer),
        Column("provider", _l("Provider"), PROVIDER, _provider, filter="select",
               options=_Providers(), shown=_provider_shown),
        when_column(),
        status_column(STATUSES, _status, _status_shown),
    ],
))
