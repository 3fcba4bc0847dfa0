"""Start and stop the four service processes, each as its own `python -m services.<name>`
with its own environment, as an operator would deploy them. Used by the demo and by
the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from events.topics import DEAD_LETTERS, TOPIC_OF_PRODUCER
from infra._process import InfraError, format_tails, spawn_detached, terminate
from infra.settings import REPO_ROOT, InfraSettings
from runtime.identity import OFFICE_ISSUER, REGISTRATION_ISSUER, Role, TokenIssuer
from runtime.identity.development import (
    SIGNING_KEY_FILES,
    development_signing_key_pem,
    development_trust,
)
from runtime.identity.tokens import load_signing_key
from runtime.secrets import development_secret, random_key_text, random_password

#: Every service, in the order of the pipeline: the one list that infra (databases,
#: supervisor, demo), the contract generator and the tests read. It is the contract's own
#: list of producers, then of consumers (their dead-letter topics): a new service is
#: added there, with its topic, and nowhere else. The audit service publishes nothing,
#: so it is known by its dead-letter topic only.
SERVICES: tuple[str, ...] = tuple(dict.fromkeys((*TOPIC_OF_PRODUCER, *DEAD_LETTERS)))
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
    identity: Mapping[str, str],
    peers: Mapping[str, str] | None = None,
    extra: Mapping[str, str] = {},
) -> dict[str, str]:
    """The variables that point one service at the stack (prefix JIP_<SERVICE>_);
    `identity`: its token verification (and issuing), e.g. `development_identity`;
    `peers`: the base URL of every service, by name (registration asks the others for
    their part of a disclosure; default: the default ports)."""
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
        "KEYSTORE_DSN": infra.keystore_dsn(),
        "KEYSTORE_MASTER_KEY": infra.keystore_master_key(),
        **identity,
        **extra,
    }
    if service == "registration":
        urls = peers or {name: f"http://127.0.0.1:{p}" for name, p in DEFAULT_PORTS.items()}
        others = {name: url for name, url in urls.items() if name != service}
        values.setdefault("PRIVACY_PEERS", json.dumps(others))
    return {prefix + key: value for key, value in values.items()}


def development_identity(
    infra: InfraSettings, service: str, *, revocations_database: str = "jip_identity"
) -> dict[str, str]:
    """A development stack's identity settings of one service: the trust document of
    the development keys (generated on first start in `<var>/secrets`, never committed)
    as a file, the revocation store's database, and for registration its signing key
    and link secret."""
    secrets = infra.var_dir / "secrets"
    trust_file = secrets / "trust.json"
    trust = json.dumps(development_trust(secrets), indent=2)
    if not trust_file.exists() or trust_file.read_text() != trust:
        trust_file.write_text(trust)
    env = {"TRUST_FILE": str(trust_file), "REVOCATIONS_DATABASE": revocations_database}
    if service == "registration":
        development_signing_key_pem(REGISTRATION_ISSUER, secrets)
        env["APPLICANT_SIGNING_KEY_FILE"] = str(secrets / SIGNING_KEY_FILES[REGISTRATION_ISSUER])
        env["LINK_SECRET"] = development_secret(
            "registration-link-secret", random_password, secrets
        ).decode()
        env["PSEUDONYM_SECRET"] = development_secret(
            "registration-pseudonym-secret", random_key_text, secrets
        ).decode()
    return env


def development_headers(
    infra: InfraSettings,
    subject: str,
    *,
    role: Role | None = None,
    company_id: uuid.UUID | None = None,
    hours: float = 8,
) -> dict[str, str]:
    """The Authorization header of a member of staff in `role` or of a user of company
    `company_id`, with a token of the development office issuer (as `python -m
    runtime.identity issue` makes, without recording it): for the demo and the bench."""
    key = load_signing_key(development_signing_key_pem(OFFICE_ISSUER, infra.var_dir / "secrets"))
    issued = TokenIssuer(OFFICE_ISSUER, key).issue(
        "staff" if role else "company",
        subject,
        timedelta(hours=hours),
        role=role,
        company_id=company_id,
    )
    return {"Authorization": f"Bearer {issued.token}"}


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
