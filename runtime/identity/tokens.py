"""Signed bearer tokens: who a caller is, checked by every service on its own.

A token is a JWT signed with an Ed25519 key (EdDSA). Its issuer signs with a private
key; the services hold only public keys (a *trust document*, see `Trust`), so a service
that is broken into cannot issue tokens. Two issuers exist today:

- `jip-identity`, the office's admin command (`python -m runtime.identity issue`), for
  staff (with a role) and host-company users (with their company);
- `jip-registration`, registration itself, for an applicant when they register.

An issuer is trusted only for the kinds of identity it may vouch for: a token of a
member of staff signed with registration's key is refused, so a leaked registration key
can make applicants, never staff.

Claims: `iss`, `aud`, `sub` (the person: a staff id, a company user's id, an applicant
id), `exp`, `iat`, `jti` (the token's own id, what revocation names) and the JIP claims
`kind` (staff | company | applicant), `role` (staff) and `company_id` (company). The
names of the JIP claims are part of an issuer's entry in the trust document
(`ClaimNames`), and so are its keys (inline JWKS or a JWKS URL) and its name: an
external OpenID Connect provider replaces `jip-identity` by a change of the trust
document, not of the services.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kernel import actor as acting
from kernel.actor import Actor

Kind = Literal["staff", "company", "applicant"]
Role = Literal["screener", "interviewer", "matcher", "privacy_officer", "auditor", "admin"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
ROLES: frozenset[str] = frozenset(get_args(Role))

#: The issuer names of the tokens JIP issues itself.
OFFICE_ISSUER = "jip-identity"
REGISTRATION_ISSUER = "jip-registration"
#: The audience of every JIP token: the backbone's services as a whole (a staff member
#: acts across services with one token).
AUDIENCE = "jip"
#: Tolerated clock difference between an issuer and a service.
LEEWAY = timedelta(seconds=30)


class InvalidToken(Exception):
    """The token proves nothing: missing, malformed, badly signed, expired, revoked,
    for another audience, or from an issuer not trusted for this kind of identity. The
    reason is for the service's own diagnostics, never for the caller."""


@dataclass(frozen=True)
class Identity:
    """Who a verified token says the caller is."""

    kind: Kind
    subject: str
    token_id: str
    expires_at: datetime
    role: Role | None = None
    company_id: uuid.UUID | None = None

    @property
    def actor(self) -> Actor:
        """The actor recorded on the events of this caller's commands."""
        if self.kind == "staff":
            assert self.role is not None
            return acting.staff(self.subject, role=self.role)
        if self.kind == "company":
            assert self.company_id is not None
            return acting.company_user(self.subject, self.company_id)
        return acting.applicant(uuid.UUID(self.subject))


# -- keys ----------------------------------------------------------------------------------


def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_signing_key(pem: str | bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem if isinstance(pem, bytes) else pem.encode(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("a signing key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK, with its RFC 7638 thumbprint as `kid` (so the same key
    always has the same id, on every machine)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid.decode(), "alg": "EdDSA"}


# -- issuing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: datetime


class TokenIssuer:
    """Signs tokens for one issuer with its private key."""

    def __init__(self, issuer: str, key: Ed25519PrivateKey, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = key
        self.jwk = public_jwk(key.public_key())

    def issue(
        self,
        kind: Kind,
        subject: str,
        valid_for: timedelta,
        *,
        role: Role | None = None,
        company_id: uuid.UUID | None = None,
        now: datetime | None = None,
    ) -> IssuedToken:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}")
        if (kind == "staff") != (role is not None):
            raise ValueError("a role is given to staff, and only to staff")
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}")
        if (kind == "company") != (company_id is not None):
            raise ValueError("a company id is given to company users, and only to them")
        if valid_for <= timedelta(0):
            raise ValueError("a token must be valid for some time")
        now = now or datetime.now(UTC)
        expires_at = now + valid_for
        token_id = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": token_id,
            "kind": kind,
        }
        if role is not None:
            claims["role"] = role
        if company_id is not None:
            claims["company_id"] = str(company_id)
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.jwk["kid"]})
        return IssuedToken(token, token_id, expires_at)


# -- trusting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimNames:
    """Where an issuer puts the JIP claims. JIP's own issuers use the defaults; an
    external OpenID Connect provider maps its own (e.g. `role` from `jip_role`)."""

    kind: str = "kind"
    role: str = "role"
    company_id: str = "company_id"


@dataclass(frozen=True)
class TrustedIssuer:
    """One issuer the services believe, for the kinds of identity it may vouch for."""

    issuer: str
    kinds: frozenset[str]
    keys: Mapping[str, jwt.PyJWK]
    claims: ClaimNames = ClaimNames()
    algorithms: tuple[str, ...] = ("EdDSA",)

    @classmethod
    def from_document(cls, entry: Mapping[str, Any]) -> TrustedIssuer:
        kinds = frozenset(entry["kinds"])
        if not kinds or not kinds <= KINDS:
            raise ValueError(f"issuer {entry['issuer']!r}: kinds must be among {sorted(KINDS)}")
        if "jwks" in entry:
            jwks = entry["jwks"]
        elif "jwks_url" in entry:
            # Read once at start (key rotation at the provider then needs a restart):
            # verification itself never waits on the network.
            jwks = jwt.PyJWKClient(entry["jwks_url"], cache_keys=False).fetch_data()
        else:
            raise ValueError(f"issuer {entry['issuer']!r}: give its keys (jwks or jwks_url)")
        keys = {}
        for jwk in jwks["keys"]:
            if "kid" not in jwk:
                raise ValueError(f"issuer {entry['issuer']!r}: every key needs a kid")
            keys[jwk["kid"]] = jwt.PyJWK(jwk)
        return cls(
            issuer=entry["issuer"],
            kinds=kinds,
            keys=keys,
            claims=ClaimNames(**entry.get("claims", {})),
            algorithms=tuple(entry.get("algorithms", ("EdDSA",))),
        )


def trust_entry(
    issuer: str, kinds: Iterable[Kind], jwks: Iterable[dict[str, str]]
) -> dict[str, Any]:
    """One issuer's entry of a trust document, for JIP's own issuers."""
    return {"issuer": issuer, "kinds": sorted(kinds), "jwks": {"keys": list(jwks)}}


@dataclass(frozen=True)
class Trust:
    """The trust document, read: which issuers, with which keys (found by `kid`), for
    which kinds of identity; the audience the services accept; the longest lifetime a
    token may have (so that a revocation need be remembered only that long).

    As JSON: `{"audience": "jip", "max_token_lifetime_hours": 2160, "issuers": [
    {"issuer": ..., "kinds": [...], "jwks": {"keys": [...]} | "jwks_url": ...,
    "claims": {"kind": ..., "role": ..., "company_id": ...}}]}`."""

    issuers: tuple[TrustedIssuer, ...]
    audience: str = AUDIENCE
    max_token_lifetime: timedelta = timedelta(days=90)
    _by_kid: dict[str, TrustedIssuer] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for issuer in self.issuers:
            for kid in issuer.keys:
                if kid in self._by_kid:
                    raise ValueError(f"key {kid} is listed for two issuers")
                self._by_kid[kid] = issuer

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Trust:
        return cls(
            issuers=tuple(TrustedIssuer.from_document(e) for e in document["issuers"]),
            audience=document.get("audience", AUDIENCE),
            max_token_lifetime=timedelta(hours=document.get("max_token_lifetime_hours", 2160)),
        )

    def identify(self, token: str, *, now: datetime | None = None) -> Identity:
        """Who the token says the caller is, if its signature, issuer, audience, times
        and claims hold (revocation is checked by the caller, see `Gate`)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("malformed") from exc
        issuer = self._by_kid.get(str(header.get("kid")))
        if issuer is None:
            raise InvalidToken("signed by an unknown key")
        key = issuer.keys[str(header["kid"])]
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(issuer.algorithms),
                audience=self.audience,
                issuer=issuer.issuer,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"]},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        return _identity(issuer, claims, self.max_token_lifetime, now or datetime.now(UTC))


def _identity(
    issuer: TrustedIssuer, claims: Mapping[str, Any], longest: timedelta, now: datetime
) -> Identity:
    names = issuer.claims
    kind = claims.get(names.kind)
    if kind is None and len(issuer.kinds) == 1:
        # An external provider that issues one kind of identity need not say which.
        kind = next(iter(issuer.kinds))
    if kind not in issuer.kinds:
        raise InvalidToken("this issuer is not trusted for this kind of identity")
    issued_at = datetime.fromtimestamp(claims["iat"], UTC)
    expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    if expires_at - issued_at > longest:
        raise InvalidToken("valid for longer than the longest lifetime accepted")
    if issued_at > now + LEEWAY:
        raise InvalidToken("issued in the future")
    subject = str(claims["sub"])
    role = claims.get(names.role)
    company = claims.get(names.company_id)
    try:
        if kind == "staff":
            if role not in ROLES:
                raise InvalidToken("staff without a known role")
            return Identity("staff", subject, str(claims["jti"]), expires_at, role=role)
        if kind == "company":
            company_id = uuid.UUID(str(company))
            return Identity(
                "company", subject, str(claims["jti"]), expires_at, company_id=company_id
            )
        uuid.UUID(subject)
        return Identity("applicant", subject, str(claims["jti"]), expires_at)
    except ValueError as exc:
        raise InvalidToken("malformed identity claims") from exc
