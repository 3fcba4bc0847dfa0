"""The gate of a service: a bearer token in, the caller's identity out (or a refusal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.identity.revocations import RevocationList
from runtime.identity.tokens import Identity, InvalidToken, Trust

if TYPE_CHECKING:
    from runtime.settings import ServiceSettings


class Gate:
    """Verifies tokens on its own: the signature against the trusted public keys, the
    claims, then the revocation list. Measured on the 2-core development machine (load 2):
    about 0.25 ms of CPU per token, PyJWT's decoding and one Ed25519 verification
    (`cryptography`), against about 5 ms for a whole command; the revocation lookup is a
    set membership test, under a microsecond (see `revocations`). Public endpoints
    verify nothing."""

    def __init__(self, trust: Trust, revocations: RevocationList) -> None:
        self.trust = trust
        self.revocations = revocations

    async def identify(self, token: str) -> Identity:
        identity = self.trust.identify(token)
        if await self.revocations.is_revoked(identity.token_id):
            raise InvalidToken("revoked")
        return identity


def gate_for(settings: ServiceSettings) -> Gate:
    """The gate a service builds from its settings (reads the trust document; may read
    the JWKS URL of an external issuer: call it off the event loop)."""
    return Gate(
        Trust.from_document(settings.trust_document()),
        RevocationList(
            settings.revocations_url(), refresh_every=settings.revocations_refresh_seconds
        ),
    )
