"""The messaging guarantees every service relies on, proved on real PostgreSQL and
Kafka with a minimal service application: effects happen once per record, bad records
are quarantined and passed over, and the relay publishes the log in order, again
with the same ids after a crash."""

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event

from events.envelope import derive_event_id
from events.registration import ApplicantPreregistered
from infra import InfraSettings, postgres
from runtime.application import ServiceApplication
from runtime.inbox import (
    Inbox,
    Outcome,
    QuarantinedMessage,
    ReceivedRecord,
    quarantined_messages,
)
from runtime.kafka import make_broker
from runtime.relay import KafkaRelay, envelope_for
from tests.support import database_of, read_topic

GOLDEN = json.loads(open("events/golden/ApplicantPreregistered.v1.json").read())  # noqa: SIM115


class Welcome(Aggregate):
    @event("Created")
    def __init__(self, email: str, correlation_id: uuid.UUID, causation_id: uuid.UUID | None):
        self.email = email

    @staticmethod
    def create_id(email: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"welcome:{email}")


class WelcomeApplication(ServiceApplication):
    """Welcomes each pre-registered address once: a stand-in for a real consumer."""

    name = "transport_probe"

    def policy(self, envelope, processing_event: ProcessingEvent) -> None:
        if envelope.payload.email.startswith("bug"):
            raise KeyError(envelope.payload.email)  # a policy bug, quoting personal data
        welcome_id = Welcome.create_id(envelope.payload.email)
        if welcome_id in self.repository:
            return
        processing_event.collect_events(
            Welcome(
                email=envelope.payload.email,
                correlation_id=envelope.correlation_id,
                causation_id=envelope.event_id,
            )
        )


@pytest.fixture(scope="module")
def app(infra: InfraSettings) -> Iterator[WelcomeApplication]:
    database = database_of("transport")
    postgres.drop_database(infra, database)
    postgres.ensure_database(infra, database)
    application = WelcomeApplication(
        {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": infra.pg_host,
            "POSTGRES_PORT": str(infra.pg_port),
            "POSTGRES_USER": infra.pg_user,
            "POSTGRES_PASSWORD": infra.pg_password,
            "CREATE_TABLE": "y",
        }
    )
    yield application
    application.close()


def record(offset: int, value: bytes, partition: int = 0) -> ReceivedRecord:
    return ReceivedRecord("jip.registration.v1", partition, offset, value)


def preregistered(email: str) -> bytes:
    data = {
        **GOLDEN,
        "event_id": str(uuid.uuid4()),
        "payload": {**GOLDEN["payload"], "email": email},
    }
    return json.dumps(data).encode()


def welcomes(app: WelcomeApplication) -> int:
    return sum(
        1
        for n in app.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith("Welcome.Created")
    )


def test_a_redelivered_record_has_its_effect_once(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    before = welcomes(app)
    value = preregistered(f"{uuid.uuid4().hex}@example.org")
    assert inbox.receive(record(100, value)) is Outcome.PROCESSED
    assert inbox.receive(record(100, value)) is Outcome.DUPLICATE
    assert inbox.receive(record(57, value)) is Outcome.DUPLICATE  # older offsets too
    assert welcomes(app) == before + 1


def test_the_same_event_republished_at_a_new_offset_changes_nothing(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    value = preregistered(f"{uuid.uuid4().hex}@example.org")
    assert inbox.receive(record(1, value, partition=1)) is Outcome.PROCESSED
    before = welcomes(app)
    assert inbox.receive(record(2, value, partition=1)) is Outcome.PROCESSED
    assert welcomes(app) == before
    assert app.recorder.max_tracking_id("kafka:jip.registration.v1:1") == 3


def test_a_malformed_record_is_quarantined_with_its_reason_and_the_next_one_processed(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    broken_payload = json.dumps({**GOLDEN, "payload": {"applicant_id": "x"}}).encode()
    assert inbox.receive(record(10, b"{not json", partition=2)) is Outcome.QUARANTINED
    assert inbox.receive(record(11, broken_payload, partition=2)) is Outcome.QUARANTINED
    assert inbox.receive(record(12, preregistered("ok@example.org"), partition=2)) is (
        Outcome.PROCESSED
    )
    kept = app.repository.get(QuarantinedMessage.id_for("jip.registration.v1", 2, 11))
    assert "payload.email" in kept.reason and "payload.applicant_id" in kept.reason
    assert base64.b64decode(kept.value_base64) == broken_payload, "nothing is lost"
    assert "ok@example.org" not in kept.reason
    listed = [(m.partition, m.offset) for m in quarantined_messages(app)]
    assert (2, 10) in listed and (2, 11) in listed
    assert (2, 12) not in listed


def test_an_event_its_policy_cannot_handle_is_quarantined_instead_of_blocking(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    assert inbox.receive(record(1, preregistered("bug@example.org"), 4)) is Outcome.QUARANTINED
    assert inbox.receive(record(2, preregistered("fine@example.org"), 4)) is Outcome.PROCESSED
    kept = app.repository.get(QuarantinedMessage.id_for("jip.registration.v1", 4, 1))
    assert kept.reason == "the service could not process this event (KeyError)"


def test_events_of_a_newer_contract_or_not_consumed_are_passed_over(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    newer = json.dumps({**GOLDEN, "event_type": "ApplicantTeleported"}).encode()
    assert inbox.receive(record(1, newer, partition=3)) is Outcome.IGNORED
    other = json.loads(open("events/golden/CohortOpened.v1.json").read())  # noqa: SIM115
    assert inbox.receive(record(2, json.dumps(other).encode(), partition=3)) is Outcome.IGNORED
    assert app.recorder.max_tracking_id("kafka:jip.registration.v1:3") == 3


async def test_the_relay_publishes_the_log_in_order_and_again_with_the_same_ids(app, infra):
    topic = f"jip.test.relay.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()

    def translate(domain_event: Any):
        if not isinstance(domain_event, Welcome.Created):
            return None
        return envelope_for(
            ApplicantPreregistered,
            domain_event,
            {
                "applicant_id": domain_event.originator_id,
                "cohort_id": "FY2025",
                "email": domain_event.email,
            },
        )

    broker = make_broker(infra.kafka_bootstrap, service="registration")
    publisher = broker.publisher(topic)
    await broker.start()

    async def send(topic_, key, value, headers):
        return await publisher.publish(value, topic_, key=key, headers=headers, no_confirm=True)

    try:
        relay = KafkaRelay(app, topic=topic, translate=translate, send=send, batch_size=1000)
        while await relay.step():
            pass
        first = [v for _, v in await read_topic(infra, topic)]
        assert first, "the welcomes recorded above are published"
        for value in first:
            assert value["event_id"] == str(
                derive_event_id(
                    value["producer"],
                    value["event_type"],
                    uuid.UUID(value["aggregate_id"]),
                    value["aggregate_version"],
                )
            )

        # A crash after sending, before the position was saved: a relay whose position
        # was never recorded starts from the beginning and sends everything again.
        again = KafkaRelay(app, topic=topic, translate=translate, send=send, batch_size=1000)
        again.name = f"relay:{topic}:position-lost"
        while await again.step():
            pass
        second = [v for _, v in await read_topic(infra, topic)]
        assert len(second) == 2 * len(first)
        assert {v["event_id"] for v in second} == {v["event_id"] for v in first}
        # Re-published byte for byte: same id, same chain.
        assert sorted(map(json.dumps, second)) == sorted(map(json.dumps, first * 2))
    finally:
        await broker.stop()
