"""The four services as their own processes, as an operator runs them, for one test
module at a time (a module that runs its own instances, like test_two_instances, does
not share topics' partitions with these)."""

from collections.abc import Iterator

import pytest

from infra import InfraSettings
from infra import services as supervisor
from tests.support import HTTP_PORTS, database_of, identity_env

PORTS = {name: port + 100 for name, port in HTTP_PORTS.items()}
#: Each running service's environment, for tests that run its command line too.
processes_env: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def processes(infra: InfraSettings, tmp_path_factory) -> Iterator[dict[str, str]]:
    documents = tmp_path_factory.mktemp("e2e-documents")
    peers = {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()}
    environments = {
        name: supervisor.service_environment(
            infra,
            name,
            port=PORTS[name],
            database=database_of(name),
            identity=identity_env(name),
            peers=peers,
            extra={"DOCUMENTS_DIR": str(documents)} if name == "registration" else {},
        )
        for name in supervisor.SERVICES
    }
    running = supervisor.start(infra, environments)
    processes_env.update(environments)
    yield {s.name: s.base_url for s in running}
    supervisor.stop(running)
