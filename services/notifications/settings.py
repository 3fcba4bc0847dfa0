"""Notifications' configuration, from environment variables prefixed JIP_NOTIFICATIONS_."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_NOTIFICATIONS_", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8004

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_database: str = "jip_notifications"
    pg_user: str = "jip"
    pg_password: SecretStr = SecretStr("jip")

    kafka_bootstrap: str = "127.0.0.1:9092"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "JIP Program Office <office@jip.example>"

    staff_token: SecretStr = Field(
        default=SecretStr("development-staff-token"),
        description="Bearer token of office staff for the notification endpoints.",
    )
