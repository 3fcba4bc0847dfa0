"""What every service process is configured with. Each service subclasses it with its
own environment prefix (JIP_<SERVICE>_) and defaults, and adds what only it needs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.keystore import KeyStore, master_key_from_text
from runtime.privacy import PersonalData
from runtime.secrets import development_secret, random_key_text, random_password


def _development_keystore_dsn(data: dict[str, Any]) -> SecretStr:
    # The development key store `infra` creates, with the password it generated.
    password = development_secret("keystore-password", random_password).decode()
    return SecretStr(
        f"postgresql://jip_keystore:{quote(password, safe='')}"
        f"@{data['pg_host']}:{data['pg_port']}/jip_keystore"
    )


def _development_master_key() -> SecretStr:
    return SecretStr(development_secret("keystore-master-key", random_key_text).decode())


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

    keystore_dsn: SecretStr = Field(
        default_factory=_development_keystore_dsn,
        description="The key store's database, with its own credentials "
        "(postgresql://user:password@host:port/db). Development default: the key store "
        "`infra` creates, its password generated in $JIP_SECRETS_DIR.",
    )
    keystore_master_key: SecretStr = Field(
        default_factory=_development_master_key,
        description="Base64 of the 32-byte key that wraps every subject key. Development "
        "default: generated in $JIP_SECRETS_DIR on first start.",
    )

    staff_token: SecretStr = Field(
        default=SecretStr("development-staff-token"),
        description="Bearer token of program-office staff for the staff endpoints.",
    )

    def personal_data(self) -> PersonalData:
        """The service's way to seal, open and erase personal data (no I/O until used)."""
        keystore = KeyStore(
            self.keystore_dsn.get_secret_value(),
            master_key_from_text(self.keystore_master_key.get_secret_value()),
        )
        return PersonalData(keystore)

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
    smtp_timeout: float = Field(default=30.0, description="Seconds to wait for the mail server.")
    smtp_connections: int = Field(
        default=1,
        ge=1,
        description="SMTP connections used at once, each with one message in flight (of "
        "different people). A crash sends at most the messages in flight twice: with 1, "
        "at most one message.",
    )
    mail_from: str = "JIP Program Office <office@jip.example>"
    mail_retry_first: timedelta = Field(
        default=timedelta(minutes=1),
        description="Wait before the first retry of a message the mail server deferred (4xx); "
        "each later wait doubles.",
    )
    mail_retry_longest: timedelta = Field(
        default=timedelta(hours=1), description="The longest wait between two retries."
    )
    mail_retry_attempts: int = Field(
        default=12,
        description="Deferrals after which a message counts as undeliverable (with the "
        "defaults, about seven hours).",
    )
