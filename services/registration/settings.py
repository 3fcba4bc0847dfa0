"""Registration's configuration, from environment variables prefixed JIP_REGISTRATION_."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.secrets import development_secret, random_key_text
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

    link_secret: SecretStr = Field(
        default=SecretStr("development-only-link-secret-change-me"),
        description="Signs registration links and applicant access tokens (HMAC-SHA256).",
    )
    link_valid_for: timedelta = timedelta(days=7)

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
