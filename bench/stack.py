"""The benchmark's own stack: the project's Kafka, PostgreSQL and SMTP server started by
`infra` with settings of their own (var/bench, Kafka on 29092, SMTP on 28025, databases
jip_bench_*), so a run never disturbs a development or test stack. Each run starts it
fresh: no Kafka data, no mail, empty databases, so every figure is about the records
this run wrote."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from infra import kafka, postgres, smtp
from infra.settings import REPO_ROOT, InfraSettings
from infra.stack import down, up

SERVICES = ("registration", "screening", "matching", "notifications", "audit")
HTTP_PORTS = {name: 28101 + i for i, name in enumerate(SERVICES)}
#: A scratch topic for the bare producer, so that its records reach no service.
SCRATCH_TOPIC = "bench.scratch"


def bench_infra_settings() -> InfraSettings:
    return InfraSettings(
        var_dir=REPO_ROOT / "var" / "bench",
        kafka_port=29092,
        kafka_controller_port=29093,
        smtp_port=28025,
        # Its own key store too: the role's password is generated per var dir, and
        # `infra up` sets it, so sharing the development one would lock out a running
        # development stack.
        keystore_database=database_of("keystore"),
    )


def database_of(service: str) -> str:
    return f"jip_bench_{service}"


async def fresh_stack(say: Callable[[str, str, float], None]) -> InfraSettings:
    """Stop the bench stack if it runs, forget its Kafka data, mail and databases, and
    start it again with empty ones."""
    settings = bench_infra_settings()
    down(settings)
    for leftover in ("kafka", "mail", "documents"):
        shutil.rmtree(settings.var_dir / leftover, ignore_errors=True)
    await up(settings, databases=(), report=say)
    for name in (*SERVICES, "identity"):
        postgres.drop_database(settings, database_of(name))
    await up(settings, databases=[database_of(s) for s in (*SERVICES, "identity")], report=say)
    await kafka.ensure_topics(settings, [SCRATCH_TOPIC])
    return settings


def stop_stack(settings: InfraSettings) -> None:
    """Stop the bench Kafka and SMTP server (PostgreSQL is the machine's, left running)."""
    down(settings)


def mail_count(settings: InfraSettings) -> int:
    """Messages the SMTP server has stored in its Maildir."""
    directory: Path = settings.mail_dir / "new"
    return sum(1 for _ in directory.iterdir()) if directory.is_dir() else 0


def clear_mail(settings: InfraSettings) -> None:
    smtp.clear_messages(settings.mail_dir)
