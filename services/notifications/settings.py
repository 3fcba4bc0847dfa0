"""Notifications' configuration, from environment variables prefixed JIP_NOTIFICATIONS_."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import MailSettings, ServiceSettings


class NotificationsSettings(ServiceSettings, MailSettings):
    model_config = SettingsConfigDict(env_prefix="JIP_NOTIFICATIONS_", frozen=True)

    http_port: int = 8004
    pg_database: str = "jip_notifications"
    smtp_connections: int = Field(
        default=8,
        ge=1,
        description="SMTP connections used at once (messages of different people in "
        "flight together; one person's go one at a time). A crash sends at most the "
        "messages in flight twice: at most this many, each at most twice.",
    )
    resends_per_day: int = Field(
        default=3,
        ge=0,
        description="How often the office may have one message sent again in any 24 hours "
        "(each resend is a real e-mail to a person).",
    )
    mail_order_patience: timedelta = Field(
        default=timedelta(minutes=30),
        description="How long an applicant's message waits for the news of a step that "
        "certainly came before it (e.g. a match for the passed interview) when that "
        "event has not been read yet; then it goes anyway.",
    )
