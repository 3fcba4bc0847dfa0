"""Matching's configuration, from environment variables prefixed JIP_MATCHING_."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MatchingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_MATCHING_", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8003

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_database: str = "jip_matching"
    pg_user: str = "jip"
    pg_password: SecretStr = SecretStr("jip")

    kafka_bootstrap: str = "127.0.0.1:9092"

    staff_token: SecretStr = Field(
        default=SecretStr("development-staff-token"),
        description="Bearer token of office staff for every endpoint but /health.",
    )
