"""Registration's configuration, from environment variables prefixed JIP_REGISTRATION_."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.identity import REGISTRATION_ISSUER
from runtime.identity.development import development_signing_key_pem
from runtime.secrets import development_secret, random_key_text, random_password
from runtime.settings import MailSettings, ServiceSettings


def _development_pseudonym_secret() -> SecretStr:
    return SecretStr(development_secret("registration-pseudonym-secret", random_key_text).decode())


class RegistrationSettings(ServiceSettings, MailSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_REGISTRATION_", frozen=True)

    http_port: int = 8001
    pg_database: str = "jip_registration"
    public_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Where applicants reach this service; registration links point here.",
    )

    link_secret: SecretStr | None = Field(
        default=None,
        description="Signs registration links (HMAC-SHA256). Else, in development, made on "
        "first start in $JIP_SECRETS_DIR.",
    )
    link_valid_for: timedelta = timedelta(days=7)

    applicant_signing_key: SecretStr | None = Field(
        default=None,
        description="Registration's own Ed25519 private key (PEM), signing applicants' "
        "access tokens (issuer jip-registration). Else `applicant_signing_key_file`; else, "
        "in development, made on first start in $JIP_SECRETS_DIR.",
    )
    applicant_signing_key_file: Path | None = None
    applicant_token_valid_for: timedelta = Field(
        default=timedelta(days=30),
        description="How long an applicant's access token is valid.",
    )

    def link_secret_value(self) -> bytes:
        if self.link_secret is not None:
            return self.link_secret.get_secret_value().encode()
        return development_secret("registration-link-secret", random_password)

    def applicant_signing_key_pem(self) -> str:
        if self.applicant_signing_key is not None:
            return self.applicant_signing_key.get_secret_value()
        if self.applicant_signing_key_file is not None:
            return self.applicant_signing_key_file.read_text()
        return development_signing_key_pem(REGISTRATION_ISSUER)

    pseudonym_secret: SecretStr = Field(
        default_factory=_development_pseudonym_secret,
        description="Keys the hashes that stand for an address or an inquiry in the event "
        "store (the e-mail claims, the inquiries' ids), so that no one without it can test "
        "an address against the store. Development default: generated in $JIP_SECRETS_DIR.",
    )

    documents_dir: Path = Path("var/documents")
    max_document_bytes: int = 10 * 1024 * 1024

    privacy_peers: dict[str, str] = Field(
        default={
            "screening": "http://127.0.0.1:8002",
            "matching": "http://127.0.0.1:8003",
            "notifications": "http://127.0.0.1:8004",
        },
        description="The other services' base URLs, asked for their part of a disclosure "
        "(JSON object: service name -> URL).",
    )
    privacy_peer_timeout: float = Field(
        default=30.0, description="Seconds a peer has to answer its part of a disclosure."
    )
