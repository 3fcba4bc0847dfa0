"""Session fixtures: one real stack (PostgreSQL, Kafka, SMTP) for the whole test
session, started by the project's own infra package, fresh each session.

The test stack has its own ports, data directory and databases (see
`tests.support.test_infra_settings`), so it never disturbs a development stack, and a
session never sees events left by an earlier one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaProducer

from infra import InfraSettings, kafka, postgres
from infra.stack import down, up
from runtime.privacy import PersonalData
from tests.support import SERVICES, Mailbox, database_of, personal_data, test_infra_settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/unit, tests/integration and tests/e2e carry that marker."""
    for item in items:
        for kind in ("unit", "integration", "e2e"):
            if f"/tests/{kind}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[InfraSettings]:
    """The test stack. Started cold (no test broker running), it is reset first: no
    Kafka data, no mail, empty service databases, so topic offsets and the services'
    tracked positions start together. Already running (another session on this
    machine), it is reused as it is; tests use their own ids, so they do not collide.
    It is left running for the next session; `python -m infra down` with the test
    settings (or `.ci/run`) stops it."""
    settings = test_infra_settings()
    if not await kafka.is_healthy(settings):
        down(settings)
        for leftover in ("kafka", "mail", "documents"):
            shutil.rmtree(settings.var_dir / leftover, ignore_errors=True)
        await up(settings, databases=())
        for name in (*SERVICES, "identity"):
            postgres.drop_database(settings, database_of(name))
        # The key store too: keys wrapped by another checkout's master key (its own
        # var/secrets, the same PostgreSQL) cannot be opened by this one.
        postgres.drop_keystore(settings)
    # The services' databases, and the revocation store of bearer tokens.
    await up(settings, databases=[database_of(s) for s in (*SERVICES, "identity")])
    yield settings


@pytest.fixture(scope="session")
def mailbox(infra: InfraSettings) -> Mailbox:
    return Mailbox(infra.mail_dir)


@pytest.fixture(scope="session")
async def producer(infra: InfraSettings) -> AsyncIterator[AIOKafkaProducer]:
    """A bare producer, for tests that play an upstream service."""
    kafka_producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await kafka_producer.start()
    yield kafka_producer
    await kafka_producer.stop()


@pytest.fixture(scope="session")
def vault(infra: InfraSettings) -> Iterator[PersonalData]:
    """The test stack's key store, through the client every service has: what an
    upstream played by a test seals personal fields with, as registration would."""
    data = personal_data(infra)
    yield data
    data.close()
