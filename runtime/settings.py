"""What every service process is configured with. Each service subclasses it with its
own environment prefix (JIP_<SERVICE>_) and defaults, and adds what only it needs."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service reads (with its own prefix).

    `http_keep_alive_seconds`: how long the HTTP server keeps an idle keep-alive
    connection open. It must outlast the idle timeout of every client and load balancer
    in front of the service (commonly 5 to 60 s): otherwise the server may close a
    connection just as the client reuses it, and that request fails with no answer.
    """

    model_config = SettingsConfigDict(frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int
    http_keep_alive_seconds: int = Field(
        default=75,
        gt=0,
        description="Idle keep-alive timeout of the HTTP server, longer than its clients'.",
    )

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_database: str
    pg_user: str = "jip"
    pg_password: SecretStr = SecretStr("jip")
    pg_pool_size: int = Field(default=5, description="Connections of the event store's pool.")

    kafka_bootstrap: str = "127.0.0.1:9092"

    staff_token: SecretStr = Field(
        default=SecretStr("development-staff-token"),
        description="Bearer token of program-office staff for the staff endpoints.",
    )

    def event_store_env(self) -> dict[str, str]:
        """eventsourcing's configuration: PostgreSQL, tables created on first start."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.pg_database,
            "POSTGRES_HOST": self.pg_host,
            "POSTGRES_PORT": str(self.pg_port),
            "POSTGRES_USER": self.pg_user,
            "POSTGRES_PASSWORD": self.pg_password.get_secret_value(),
            "POSTGRES_POOL_SIZE": str(self.pg_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pg_pool_size),
            "CREATE_TABLE": "y",
        }


class MailSettings(BaseSettings):
    """Outgoing mail, for the services that send e-mail."""

    model_config = SettingsConfigDict(frozen=True)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "JIP Program Office <office@jip.example>"
