"""Identities and roles: signed bearer tokens (JWT, EdDSA) that every service verifies
on its own, their issuing by the office's admin command and by registration, and their
revocation. `python -m runtime.identity --help` is the admin command."""

from runtime.identity.gate import Gate
from runtime.identity.revocations import RevocationList, RevocationStore, RevocationUnavailable
from runtime.identity.tokens import (
    AUDIENCE,
    KINDS,
    OFFICE_ISSUER,
    REGISTRATION_ISSUER,
    ROLES,
    ClaimNames,
    Identity,
    InvalidToken,
    IssuedToken,
    Kind,
    Role,
    TokenIssuer,
    Trust,
    TrustedIssuer,
)

__all__ = [
    "AUDIENCE",
    "KINDS",
    "OFFICE_ISSUER",
    "REGISTRATION_ISSUER",
    "ROLES",
    "ClaimNames",
    "Gate",
    "Identity",
    "InvalidToken",
    "IssuedToken",
    "Kind",
    "RevocationList",
    "RevocationStore",
    "RevocationUnavailable",
    "Role",
    "TokenIssuer",
    "Trust",
    "TrustedIssuer",
]
