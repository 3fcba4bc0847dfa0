"""Running a service for a benchmark: in this process (its bootstrap and
runtime/process.py ServiceProcess, as tests/support.py `running()` does), keeping only
the parts a scenario measures; or as its own process (infra/services.py), as deployed."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bench.stack import HTTP_PORTS, database_of
from infra import InfraSettings
from infra import services as deployed
from runtime.process import ServiceProcess


def environment(settings: InfraSettings, service: str) -> dict[str, str]:
    """The variables that point one service at the bench stack."""
    return deployed.service_environment(
        settings,
        service,
        port=HTTP_PORTS[service],
        database=database_of(service),
        identity=deployed.development_identity(
            settings, service, revocations_database=database_of("identity")
        ),
        extra={"DOCUMENTS_DIR": str(settings.var_dir / "documents")},
    )


async def in_process(
    settings: InfraSettings,
    service: str,
    *,
    followers: Callable[[str], bool] = lambda name: True,
    http: bool = False,
) -> ServiceProcess:
    """The service as its bootstrap builds it from its environment, with only the log
    followers whose name `followers` accepts (e.g. "relay:…", "mailer:…"), and its
    HTTP API only if asked. Its Kafka consumers, if any, always run."""
    os.environ.update(environment(settings, service))
    bootstrap = importlib.import_module(f"services.{service}.bootstrap").bootstrap
    process: ServiceProcess = await bootstrap()
    return dataclasses.replace(
        process,
        followers=[f for f in process.followers if followers(f.name)],
        http=process.http if http else None,
    )


@asynccontextmanager
async def running(process: ServiceProcess) -> AsyncIterator[ServiceProcess]:
    task = asyncio.create_task(process.run())
    try:
        yield process
    finally:
        process.stop_event.set()
        await task


def as_process(settings: InfraSettings, service: str) -> deployed.RunningService:
    """The service as its own `python -m services.<name> serve`, answering /health."""
    (started,) = deployed.start(settings, {service: environment(settings, service)})
    return started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
