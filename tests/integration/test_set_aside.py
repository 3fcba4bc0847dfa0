"""What becomes of records a consumer cannot process, on the real Kafka and PostgreSQL
with screening as the consumer: nothing stops the partition, each such record is set
aside with its reason, published to screening's dead-letter topic, listed and replayed
by the operator's commands."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from events import topics
from infra import InfraSettings, kafka
from runtime.inbox import QuarantinedMessage
from services.screening.application.service import ScreeningApplication
from services.screening.bootstrap import bootstrap, build_application
from services.screening.domain.case import ScreeningCase
from services.screening.settings import ScreeningSettings
from tests import envelopes
from tests.support import eventually, running, service_env

#: One partition for every record of this module, so that their order is known.
PARTITION = 5


@dataclass
class Consumer:
    store: ScreeningApplication
    producer: AIOKafkaProducer
    infra: InfraSettings

    async def send(
        self,
        value: bytes,
        key: uuid.UUID,
        headers: list[tuple[str, bytes | None]] | None = None,
    ) -> RecordMetadata:
        return await self.producer.send_and_wait(
            topics.REGISTRATION,
            value,
            key=str(key).encode(),
            partition=PARTITION,
            headers=headers,  # type: ignore[arg-type]  # aiokafka sends a null value too
        )

    async def register(self, applicant_id: uuid.UUID, **headers: bytes | None) -> RecordMetadata:
        event = envelopes.applicant_registered(applicant_id)
        return await self.send(
            event.model_dump_json().encode(), applicant_id, list(headers.items()) or None
        )

    async def case_of(self, applicant_id: uuid.UUID) -> ScreeningCase:
        return await eventually(
            lambda: asyncio.to_thread(self.store.find, applicant_id, ScreeningCase),
            what="the applicant's screening case",
        )

    async def set_aside(self, record: RecordMetadata) -> QuarantinedMessage:
        message_id = QuarantinedMessage.id_for(record.topic, record.partition, record.offset)
        found: QuarantinedMessage = await eventually(
            lambda: asyncio.to_thread(self.store.find, message_id, QuarantinedMessage),
            what=f"the record at offset {record.offset} set aside",
        )
        return found


@pytest.fixture(scope="module")
async def screening(infra: InfraSettings, producer: AIOKafkaProducer) -> AsyncIterator[Consumer]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env("screening", infra).items():
            env.setenv(name, value)
        settings = ScreeningSettings()
    store = build_application(settings)
    try:
        async with running(await bootstrap(settings)):
            yield Consumer(store, producer, infra)
    finally:
        store.close()


async def test_an_event_colliding_with_another_record_is_set_aside_and_the_partition_goes_on(
    screening: Consumer,
) -> None:
    # Given a record set aside, whose id an applicant id then happens to equal.
    garbage = await screening.send(b"not json", uuid.uuid4())
    message = await screening.set_aside(garbage)

    # When that applicant registers, and then another one on the same partition,
    colliding = await screening.register(message.id)
    later = uuid.uuid4()
    await screening.register(later)

    # then the later one gets a case, and the colliding event is set aside with its reason.
    await screening.case_of(later)
    kept = await screening.set_aside(colliding)
    assert "collide with a record already in its store (IntegrityError)" in kept.reason
    assert kept.status == "set aside"


async def test_records_whose_headers_are_not_text_are_set_aside_and_the_next_processed(
    screening: Consumer,
) -> None:
    not_utf8, null, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    first = await screening.register(not_utf8, event_type=b"\xff\xfeApplicantRegistered")
    second = await screening.register(null, event_id=None)
    await screening.register(later)

    await screening.case_of(later)
    assert (await screening.set_aside(first)).reason == "header 'event_type': not UTF-8 text"
    assert (await screening.set_aside(second)).reason == "header 'event_id': no value (null)"
    assert screening.store.find(not_utf8, ScreeningCase) is None


async def test_set_aside_records_are_published_to_the_dead_letter_topic_as_they_came(
    screening: Consumer,
) -> None:
    key = uuid.uuid4()
    # Not JSON (cut short): other tests read this topic too, and skip what is unreadable.
    value = b'{"event_type": "ApplicantRegistered", "payload": {'
    record = await screening.send(value, key, [("event_type", b"ApplicantRegistered")])

    async def dead_letter() -> object:
        for found in await kafka.read_all(screening.infra, [topics.DEAD_LETTERS["screening"]]):
            headers = {k: v.decode() for k, v in found.headers}
            if (headers["dlq-original-partition"], headers["dlq-original-offset"]) == (
                str(record.partition),
                str(record.offset),
            ):
                return found, headers
        return None

    found, headers = await eventually(dead_letter, what="the record on the dead-letter topic")
    assert (found.key, found.value) == (str(key).encode(), value)
    assert headers["dlq-original-topic"] == topics.REGISTRATION
    assert headers["dlq-consumer"] == "screening"
    assert headers["event_type"] == "ApplicantRegistered"
    assert headers["dlq-reason"] == (await screening.set_aside(record)).reason
    assert "Invalid JSON" in headers["dlq-reason"]


async def test_the_operator_lists_and_replays_what_was_set_aside(
    screening: Consumer, infra: InfraSettings
) -> None:
    garbage = await screening.send(b"not json", uuid.uuid4())
    message = await screening.set_aside(garbage)
    colliding = await screening.register(message.id)
    await screening.set_aside(colliding)
    position = f"{colliding.topic}:{colliding.partition}:{colliding.offset}"

    # Replayed while the cause is still there: set aside again, exit code 1.
    replayed = _screening_command(infra, "replay", "--offset", position)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert f"{position}: failed again" in replayed.stdout
    again = await asyncio.to_thread(screening.store.repository.get, message.id)
    assert again.status == "set aside", "the garbage itself was not replayed"
    kept = await asyncio.to_thread(
        screening.store.repository.get,
        QuarantinedMessage.id_for(colliding.topic, colliding.partition, colliding.offset),
    )
    assert (kept.status, kept.replays) == ("failed again", 1)
    assert "IntegrityError" in kept.reason

    listing = _screening_command(infra, "quarantine")
    assert listing.returncode == 0, listing.stderr
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]] for line in listing.stdout.splitlines()
    ]
    row = next(r for r in rows if r[:3] == [colliding.topic, str(PARTITION), str(colliding.offset)])
    assert row[3] == "failed again"

    misuse = _screening_command(infra, "replay")
    assert misuse.returncode == 2


def _screening_command(infra: InfraSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **service_env("screening", infra), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "services.screening", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
