"""The audit service's configuration, from environment variables prefixed JIP_AUDIT_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_AUDIT_", frozen=True)

    http_port: int = 8005
    pg_database: str = "jip_audit"
