"""Development key material, generated on first start into `$JIP_SECRETS_DIR`
(default `var/secrets`, ignored by git), never committed. Production gives every one of
these through the environment or a file instead (see the README).

"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.identity.tokens import (
    OFFICE_ISSUER,
    REGISTRATION_ISSUER,
    load_signing_key,
    new_signing_key,
    private_key_pem,
    public_jwk,
    trust_entry,
)
from runtime.secrets import development_secret

#: The files of the development signing keys, by issuer.
SIGNING_KEY_FILES = {
    OFFICE_ISSUER: "identity-signing-key.pem",
    REGISTRATION_ISSUER: "registration-signing-key.pem",
}


def development_signing_key_pem(issuer: str, directory: Path | None = None) -> str:
    return development_secret(
        SIGNING_KEY_FILES[issuer], lambda: private_key_pem(new_signing_key()).encode(), directory
    ).decode()


def development_trust(directory: Path | None = None) -> dict[str, Any]:
    """The trust document of a development stack: JIP's two issuers with the public
    halves of the development keys (made now if missing)."""
    office = load_signing_key(development_signing_key_pem(OFFICE_ISSUER, directory))
    registration = load_signing_key(development_signing_key_pem(REGISTRATION_ISSUER, directory))
    return {
        "issuers": [
            trust_entry(OFFICE_ISSUER, ["staff", "company"], [public_jwk(office.public_key())]),
            trust_entry(
                REGISTRATION_ISSUER, ["applicant"], [public_jwk(registration.public_key())]
            ),
        ]
    }
