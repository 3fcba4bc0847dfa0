"""The office's admin command for identities: issue a token to a member of staff or a
host company's user, revoke tokens, show the public keys services must trust.

    python -m runtime.identity issue --kind staff --id alice --role screener --hours 8
    python -m runtime.identity issue --kind company --id bob --company-id <uuid>
    python -m runtime.identity revoke <token id>      # or: revoke --subject alice
    python -m runtime.identity jwks                   # this issuer's public keys

Configured by JIP_IDENTITY_* variables (`IdentitySettings`).
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import typer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.identity.development import development_signing_key_pem
from runtime.identity.revocations import RevocationStore
from runtime.identity.tokens import OFFICE_ISSUER, ROLES, TokenIssuer, load_signing_key


class IdentitySettings(BaseSettings):
    """The admin command's configuration (environment variables JIP_IDENTITY_*)."""

    model_config = SettingsConfigDict(env_prefix="JIP_IDENTITY_", frozen=True)

    issuer: str = OFFICE_ISSUER
    audience: str = "jip"
    signing_key: SecretStr | None = Field(
        default=None, description="The issuer's Ed25519 private key (PEM). Else the file."
    )
    signing_key_file: Path | None = Field(
        default=None, description="Else, in development, made in $JIP_SECRETS_DIR."
    )
    revocations_dsn: SecretStr | None = Field(
        default=None, description="The revocation store, with the right to write."
    )
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "jip"
    pg_password: SecretStr = SecretStr("jip")
    revocations_database: str = "jip_identity"
    max_token_lifetime: timedelta = Field(
        default=timedelta(days=90),
        description="The longest lifetime the services accept (as in the trust document).",
    )

    def signing_key_pem(self) -> str:
        if self.signing_key is not None:
            return self.signing_key.get_secret_value()
        if self.signing_key_file is not None:
            return self.signing_key_file.read_text()
        return development_signing_key_pem(self.issuer)

    def issuer_(self) -> TokenIssuer:
        return TokenIssuer(self.issuer, load_signing_key(self.signing_key_pem()), self.audience)

    def store(self) -> RevocationStore:
        if self.revocations_dsn is not None:
            dsn = self.revocations_dsn.get_secret_value()
        else:
            password = quote(self.pg_password.get_secret_value(), safe="")
            dsn = (
                f"postgresql://{quote(self.pg_user, safe='')}:{password}@{self.pg_host}:"
                f"{self.pg_port}/{self.revocations_database}"
            )
        store = RevocationStore(dsn, self.max_token_lifetime)
        store.create()
        return store


cli = typer.Typer(add_completion=False, help="JIP identities: issue and revoke bearer tokens.")


@cli.command()
def issue(
    kind: Annotated[Literal["staff", "company"], typer.Option(help="staff or company")],
    id: Annotated[str, typer.Option("--id", help="The person's id (e.g. a login name).")],
    role: Annotated[
        str | None, typer.Option(help=f"Staff only: one of {', '.join(sorted(ROLES))}.")
    ] = None,
    company_id: Annotated[
        uuid.UUID | None, typer.Option(help="Company users only: their company.")
    ] = None,
    hours: Annotated[float, typer.Option(help="How long the token is valid.", min=0.01)] = 8,
) -> None:
    """Issue a token and print it (the token on stdout; its id and expiry on stderr)."""
    settings = IdentitySettings()
    if role is not None and role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(sorted(ROLES))}", param_hint="--role")
    valid_for = timedelta(hours=hours)
    if valid_for > settings.max_token_lifetime:
        raise typer.BadParameter(
            f"at most {settings.max_token_lifetime.total_seconds() / 3600:.0f} hours",
            param_hint="--hours",
        )
    now = datetime.now(UTC)
    try:
        issued = settings.issuer_().issue(
            kind,
            id,
            valid_for,
            role=role,  # type: ignore[arg-type]  # checked against ROLES above
            company_id=company_id,
            now=now,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings.store().record_issued(
        issued.token_id,
        kind,
        id,
        role,
        str(company_id) if company_id else None,
        now,
        issued.expires_at,
    )
    print(issued.token)
    print(
        f"token id {issued.token_id}, valid until {issued.expires_at:%Y-%m-%d %H:%M}Z",
        file=sys.stderr,
    )


@cli.command()
def revoke(
    token_id: Annotated[str | None, typer.Argument(help="The token's id (jti).")] = None,
    subject: Annotated[
        str | None, typer.Option(help="Instead: every valid token issued to this person.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the revocation).")] = "revoked",
) -> None:
    """Revoke tokens: every service refuses them within seconds."""
    if (token_id is None) == (subject is None):
        raise typer.BadParameter("give a token id or --subject, not both")
    store = IdentitySettings().store()
    ids = [token_id] if token_id else [t["jti"] for t in store.tokens_of(str(subject))]
    for jti in ids:
        done = store.revoke(str(jti), reason)
        print(f"{jti}: {'revoked' if done else 'already revoked'}")
    if not ids:
        print("no valid token issued to this person")


@cli.command()
def jwks() -> None:
    """Print this issuer's public keys (a JWKS), for the services' trust document."""
    print(json.dumps({"keys": [IdentitySettings().issuer_().jwk]}, indent=2))
