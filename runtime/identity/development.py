"""Development key material, generated on first start into `$JIP_SECRETS_DIR`
(default `var/secrets`, ignored by git), never committed. Production gives every one of
these through the environment or a file instead (see the README).

`development_secret` stands in for the lead's `runtime.secrets.development_secret` until
the branches are merged (same name and meaning).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable
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

#: The files of the development signing keys, by issuer.
SIGNING_KEY_FILES = {
    OFFICE_ISSUER: "identity-signing-key.pem",
    REGISTRATION_ISSUER: "registration-signing-key.pem",
}


def secrets_dir() -> Path:
    return Path(os.environ.get("JIP_SECRETS_DIR", "var/secrets"))


def development_secret(name: str, make: Callable[[], str], directory: Path | None = None) -> str:
    """The development secret `name`, made by `make` on first use and kept in
    `$JIP_SECRETS_DIR/<name>` (or `directory`; readable by its owner only). Several
    processes starting at once agree on one value: the first to link its file wins, the
    others read it."""
    directory = directory or secrets_dir()
    path = directory / name
    if path.exists():
        return path.read_text()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = directory / f".{name}.{uuid.uuid4()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(make())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text()


def development_signing_key_pem(issuer: str, directory: Path | None = None) -> str:
    return development_secret(
        SIGNING_KEY_FILES[issuer], lambda: private_key_pem(new_signing_key()), directory
    )


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


def random_secret() -> str:
    return secrets.token_urlsafe(32)
