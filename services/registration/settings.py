"""Registration's configuration, from environment variables prefixed JIP_REGISTRATION_."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import MailSettings, ServiceSettings


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

    documents_dir: Path = Path("var/documents")
    max_document_bytes: int = 10 * 1024 * 1024
