"""Where the local infrastructure lives and how to reach it.

Every knob can be overridden with an environment variable named ``JIP_<FIELD>`` (for
example ``JIP_KAFKA_PORT=19092`` or ``JIP_VAR_DIR=/tmp/jip-var``), so that a second clone,
a CI job or a test session can run its own stack without editing code.

Nothing is read or created at import time: an :class:`InfraSettings` instance reads the
environment when it is constructed, and the directories are created by the components
that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.secrets import development_secret, random_key_text, random_password

#: The repository root: the parent of the ``infra/`` package.
REPO_ROOT: Path = Path(__file__).resolve().parent.parent


def _default_libs_dir(data: dict[str, Any]) -> Path:
    """Jars are cached per Kafka version in the user's cache, shared by every clone."""
    return Path.home() / ".cache" / "jip" / f"kafka-{data['kafka_version']}" / "libs"


def _default_mail_dir(data: dict[str, Any]) -> Path:
    return Path(data["var_dir"]) / "mail"


class InfraSettings(BaseSettings):
    """Addresses, ports and directories of the project's Kafka, PostgreSQL and SMTP server."""

    model_config = SettingsConfigDict(env_prefix="JIP_", extra="ignore")

    var_dir: Path = Field(
        default=REPO_ROOT / "var",
        description="Runtime state: Kafka data, logs, pid files, received mail.",
    )

    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_version: str = "4.1.1"
    # Declared after kafka_version: the default factory reads the validated version.
    kafka_libs_dir: Path = Field(default_factory=_default_libs_dir)
    kafka_heap: str = "512m"
    kafka_partitions: int = 6

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "jip"
    pg_password: str = "jip"  # noqa: S105 - local development role, not a secret
    pg_cluster_version: str = "15"
    pg_cluster_name: str = "main"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_dir: Path = Field(default_factory=_default_mail_dir)

    keystore_database: str = Field(
        default="jip_keystore",
        description="The key store's database; its own login role has the same name.",
    )

    @field_validator("var_dir", "kafka_libs_dir", "mail_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """Paths end up in Kafka's config and in child processes: make them absolute."""
        return value.expanduser().absolute()

    # --- derived paths -------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def run_dir(self) -> Path:
        """Pid files of the processes started by ``python -m infra up``."""
        return self.var_dir / "run"

    @property
    def kafka_dir(self) -> Path:
        """Generated ``server.properties``, ``log4j2.properties`` and the cluster id."""
        return self.var_dir / "kafka"

    @property
    def kafka_data_dir(self) -> Path:
        """The broker's ``log.dirs`` (also holds the KRaft metadata log)."""
        return self.kafka_dir / "data"

    @property
    def kafka_log_file(self) -> Path:
        return self.log_dir / "kafka.log"

    @property
    def kafka_stdout_log(self) -> Path:
        """The JVM's own stdout/stderr (crashes before log4j is up land here)."""
        return self.log_dir / "kafka.stdout.log"

    @property
    def kafka_pid_file(self) -> Path:
        return self.run_dir / "kafka.pid"

    @property
    def smtp_log_file(self) -> Path:
        return self.log_dir / "smtp.log"

    @property
    def smtp_pid_file(self) -> Path:
        return self.run_dir / "smtp.pid"

    @property
    def secrets_dir(self) -> Path:
        """Generated development secrets (never committed; see runtime/secrets.py)."""
        return self.var_dir / "secrets"

    def keystore_password(self) -> str:
        return development_secret("keystore-password", random_password, self.secrets_dir).decode()

    def keystore_master_key(self) -> str:
        return development_secret("keystore-master-key", random_key_text, self.secrets_dir).decode()

    def keystore_dsn(self) -> str:
        """How a service reaches the key store, with the key store's own credentials."""
        role = self.keystore_database
        return (
            f"postgresql://{role}:{quote(self.keystore_password(), safe='')}"
            f"@{self.pg_host}:{self.pg_port}/{self.keystore_database}"
        )

    @property
    def kafka_bootstrap(self) -> str:
        """``host:port`` for Kafka clients' ``bootstrap_servers``."""
        return f"{self.kafka_host}:{self.kafka_port}"

    @property
    def pg_log_file(self) -> Path:
        """Debian's server log of the cluster (``pg_lsclusters`` shows the same path)."""
        return Path(
            f"/var/log/postgresql/postgresql-{self.pg_cluster_version}-{self.pg_cluster_name}.log"
        )

    def postgres_dsn(self, database: str, *, scheme: str = "postgresql") -> str:
        """A URL DSN for ``database`` as the project's login role over TCP.

        ``postgresql://`` is understood by psycopg, asyncpg and libpq; pass
        ``scheme="postgresql+psycopg"`` (or similar) for SQLAlchemy-style URLs.
        """
        user = quote(self.pg_user, safe="")
        password = quote(self.pg_password, safe="")
        return f"{scheme}://{user}:{password}@{self.pg_host}:{self.pg_port}/{quote(database)}"
