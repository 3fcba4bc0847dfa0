"""Screening's configuration, from environment variables prefixed JIP_SCREENING_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_SCREENING_", frozen=True)

    http_port: int = 8002
    pg_database: str = "jip_screening"
