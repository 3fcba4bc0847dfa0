"""Registration's configuration, from environment variables prefixed JIP_REGISTRATION_."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_REGISTRATION_", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8001
    public_base_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Where applicants reach this service; registration links point here.",
    )

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_database: str = "jip_registration"
    pg_user: str = "jip"
    pg_password: SecretStr = SecretStr("jip")

    kafka_bootstrap: str = "127.0.0.1:9092"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "JIP Program Office <office@jip.example>"

    link_secret: SecretStr = Field(
        default=SecretStr("development-only-link-secret-change-me"),
        description="Signs registration links and applicant access tokens (HMAC-SHA256).",
    )
    link_valid_for: timedelta = timedelta(days=7)
    staff_token: SecretStr = Field(
        default=SecretStr("development-staff-token"),
        description="Bearer token of office staff for cohort, amendment and inquiry endpoints.",
    )

    documents_dir: Path = Path("var/documents")
    max_document_bytes: int = 10 * 1024 * 1024
