"""What every service process is configured with. Each service subclasses it with its
own environment prefix (JIP_<SERVICE>_) and defaults, and adds what only it needs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.identity.development import development_trust
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

    trust: str | None = Field(
        default=None,
        description="The trust document (JSON): the token issuers this service believes, "
        "their public keys and claim names (runtime.identity.Trust). Else `trust_file`; "
        "else, in development, one made from the keys in $JIP_SECRETS_DIR.",
    )
    trust_file: Path | None = Field(default=None, description="The trust document, as a file.")
    revocations_dsn: SecretStr | None = Field(
        default=None,
        description="The revocation store (PostgreSQL, read only). Else the database "
        "`revocations_database` on this service's PostgreSQL server and credentials.",
    )
    revocations_database: str = "jip_identity"
    revocations_refresh_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the revoked tokens are read again: a revocation takes "
        "effect within about this time.",
    )

    def trust_document(self) -> dict[str, Any]:
        if self.trust is not None:
            document: dict[str, Any] = json.loads(self.trust)
            return document
        if self.trust_file is not None:
            document = json.loads(self.trust_file.read_text())
            return document
        return development_trust()

    def revocations_url(self) -> str:
        if self.revocations_dsn is not None:
            return self.revocations_dsn.get_secret_value()
        password = quote(self.pg_password.get_secret_value(), safe="")
        return (
            f"postgresql://{quote(self.pg_user, safe='')}:{password}@{self.pg_host}:"
            f"{self.pg_port}/{self.revocations_database}"
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
