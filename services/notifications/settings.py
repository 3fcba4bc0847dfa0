"""Notifications' configuration, from environment variables prefixed JIP_NOTIFICATIONS_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from runtime.settings import MailSettings, ServiceSettings


class NotificationsSettings(ServiceSettings, MailSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_NOTIFICATIONS_", frozen=True)

    http_port: int = 8004
    pg_database: str = "jip_notifications"
