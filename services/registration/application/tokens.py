"""Registration links: HMAC-signed, never stored. (An applicant's access token, given
when they register, is a JWT signed with registration's own key: see runtime.identity.)

A token is `<applicant id>.<serial>.<signature>`, the signature an HMAC-SHA256 over the
purpose, the applicant id and the serial with the service's secret. Nothing secret is
ever written to the event store: the store holds only the serial and the expiry, and
the token is derived again when the link e-mail is (re)sent. The purpose is in the MAC so
that a token made for something else can never pass for a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Literal

from kernel.rules import RuleViolation

Purpose = Literal["registration-link"]


@dataclass(frozen=True)
class TokenClaims:
    applicant_id: uuid.UUID
    serial: int


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the link secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, purpose: Purpose, applicant_id: uuid.UUID, serial: int) -> str:
        message = f"{purpose}:{applicant_id}:{serial}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, purpose: Purpose, applicant_id: uuid.UUID, serial: int) -> str:
        return f"{applicant_id}.{serial}.{self._mac(purpose, applicant_id, serial)}"

    def verify(self, purpose: Purpose, token: str, *, field: str = "token") -> TokenClaims:
        try:
            applicant_text, serial_text, mac = token.split(".")
            claims = TokenClaims(uuid.UUID(applicant_text), int(serial_text))
        except ValueError:
            raise RuleViolation(field, "the token is not valid") from None
        expected = self._mac(purpose, claims.applicant_id, claims.serial)
        if not hmac.compare_digest(mac, expected):
            raise RuleViolation(field, "the token is not valid")
        return claims
