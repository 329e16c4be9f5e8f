"""Signature providers (SPEC A8, S10): send a document for signature; its status comes back later by a
callback to our external-source webhook (POST /hooks/<source>, services.webhooks).

A provider is any object with a `key`, a `label` and `send(request, signer, callback) -> reference`.
The kind (engine.kinds.esignature) renders the document, stores a SignatureRequest and asks the
provider chosen in Settings → Electronic signature (default: the ESIGN_PROVIDER setting) to send it; nothing outside `simulator.py` knows the simulator.
`send` runs inside the action run's job and must follow the external-effect rule (docs/engine.md):
at most once, e.g. through engine.outbox or executor.begin_external before calling a remote API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    language: str


@dataclass(frozen=True)
class Callback:
    """Where and how the provider reports the outcome: our webhook URL for the source, whose secret
    signs (or verifies) the callback."""

    source_name: str
    url: str


class Provider(Protocol):
    key: str
    label: str

    def send(self, run, request, signer: Signer, callback: Callback) -> str:
        """Send `request.document` to the signer; return the provider's reference for the request."""


PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    """Add a provider to the registry (an install's own provider registers itself the same way)."""
    PROVIDERS[provider.key] = provider
    return provider


def active_key() -> str:
    """The chosen provider's key ('' switches e-signature off)."""
    from services import app_settings

    return app_settings.get(app_settings.ESIGN_PROVIDER)


def active() -> Provider | None:
    """The configured provider, or None when none is configured or it is not registered."""
    return PROVIDERS.get(active_key())


from engine.signature import simulator  # noqa: E402,F401  (registers the built-in provider)

register(simulator.Simulator())
