"""Start and stop the four service processes, each as its own `python -m services.<name>`
with its own environment, as an operator would deploy them. Used by the demo and by
the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from events.topics import TOPIC_OF_PRODUCER
from infra._process import InfraError, format_tails, spawn_detached, terminate
from infra.settings import REPO_ROOT, InfraSettings

#: Every service, in the order of the pipeline: the one list that infra (databases,
#: supervisor, demo), the contract generator and the tests read. It is the contract's own
#: list of producers, so a new service is added there, with its topic, and nowhere else.
SERVICES: tuple[str, ...] = tuple(TOPIC_OF_PRODUCER)
DEFAULT_PORTS = {name: 8001 + i for i, name in enumerate(SERVICES)}


@dataclass
class RunningService:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_file: Path


def service_environment(
    infra: InfraSettings,
    service: str,
    *,
    port: int,
    database: str,
    staff_token: str,
    extra: Mapping[str, str] = {},
) -> dict[str, str]:
    """The variables that point one service at the stack (prefix JIP_<SERVICE>_)."""
    prefix = f"JIP_{service.upper()}_"
    values = {
        "HTTP_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PG_HOST": infra.pg_host,
        "PG_PORT": str(infra.pg_port),
        "PG_DATABASE": database,
        "PG_USER": infra.pg_user,
        "PG_PASSWORD": infra.pg_password,
        "KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "SMTP_HOST": infra.smtp_host,
        "SMTP_PORT": str(infra.smtp_port),
        "STAFF_TOKEN": staff_token,
        "KEYSTORE_DSN": infra.keystore_dsn(),
        "KEYSTORE_MASTER_KEY": infra.keystore_master_key(),
        **extra,
    }
    return {prefix + key: value for key, value in values.items()}


def start(
    infra: InfraSettings,
    environments: Mapping[str, dict[str, str]],
    *,
    timeout: float = 60.0,
    instance: str = "",
) -> list[RunningService]:
    """Start each named service with its environment and wait until its /health
    answers. A service that dies or stays silent fails with the tail of its log.
    `instance` names a further instance of the same services (its own log and pid
    file); the instances share the work (see README, "Several instances")."""
    running = []
    suffix = f"-{instance}" if instance else ""
    for name, env in environments.items():
        port = int(env[f"JIP_{name.upper()}_HTTP_PORT"])
        log_file = infra.log_dir / f"{name}{suffix}.log"
        proc = spawn_detached(
            [sys.executable, "-m", f"services.{name}", "serve"],
            log_file=log_file,
            pid_file=infra.run_dir / f"{name}{suffix}.pid",
            cwd=REPO_ROOT,
            env={**os.environ, **env},
        )
        running.append(RunningService(name, proc, f"http://127.0.0.1:{port}", log_file))
    deadline = time.monotonic() + timeout
    for service in running:
        while True:
            if service.process.poll() is not None:
                stop(running)
                raise InfraError(f"{service.name} exited at start" + format_tails(service.log_file))
            try:
                if httpx.get(f"{service.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                stop(running)
                raise InfraError(
                    f"{service.name} did not answer on {service.base_url} within {timeout:.0f}s"
                    + format_tails(service.log_file)
                )
            time.sleep(0.2)
    return running


def stop(running: Sequence[RunningService]) -> None:
    """SIGTERM each service (they finish in-flight work and stop cleanly), then wait."""
    for service in running:
        terminate(service.process.pid, timeout=20.0)
