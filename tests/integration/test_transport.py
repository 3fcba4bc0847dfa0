"""The messaging guarantees every service relies on, proved on real PostgreSQL and
Kafka with a minimal service application: effects happen once per record, bad records
are quarantined and passed over, and the relay publishes the log in order, again
with the same ids after a crash."""

import asyncio
import base64
import json
import logging
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
from runtime.kafka import deliver, make_broker
from runtime.relay import KafkaRelay, envelope_for
from tests.support import database_of, eventually, read_topic

GOLDEN = json.loads(open("events/golden/ApplicantPreregistered.v1.json").read())  # noqa: SIM115


class Welcome(Aggregate):
    @event("Created")
    def __init__(self, email: str, correlation_id: uuid.UUID, causation_id: uuid.UUID | None):
        self.email = email

    @staticmethod
    def create_id(email: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"welcome:{email}")


class Rival(Aggregate):
    """A record of another kind whose id happens to be one a policy derives."""

    @event("Created")
    def __init__(self, rival_id: uuid.UUID) -> None:
        pass

    @staticmethod
    def create_id(rival_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return rival_id


class WelcomeApplication(ServiceApplication):
    """Welcomes each pre-registered address once: a stand-in for a real consumer."""

    name = "transport_probe"
    #: Whether the policy bug below has been fixed (for replays).
    fixed = False

    def policy(self, envelope, processing_event: ProcessingEvent) -> None:
        if envelope.payload.email.startswith("bug") and not self.fixed:
            raise KeyError(envelope.payload.email)  # a policy bug, quoting personal data
        welcome_id = Welcome.create_id(envelope.payload.email)
        if self.find(welcome_id, Welcome) is not None:
            return
        processing_event.collect_events(
            Welcome(
                email=envelope.payload.email,
                correlation_id=envelope.correlation_id,
                causation_id=envelope.event_id,
            )
        )


def store_env(infra: InfraSettings, port: int | None = None) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database_of("transport"),
        "POSTGRES_HOST": infra.pg_host,
        "POSTGRES_PORT": str(port or infra.pg_port),
        "POSTGRES_USER": infra.pg_user,
        "POSTGRES_PASSWORD": infra.pg_password,
        "POSTGRES_CONNECT_TIMEOUT": "1",
        "CREATE_TABLE": "y",
    }


@pytest.fixture(scope="module")
def app(infra: InfraSettings) -> Iterator[WelcomeApplication]:
    database = database_of("transport")
    postgres.drop_database(infra, database)
    postgres.ensure_database(infra, database)
    application = WelcomeApplication(store_env(infra))
    yield application
    application.close()


class CuttableLink:
    """A TCP relay in front of PostgreSQL that a test can cut, as a network outage
    would: open connections are dropped and new ones refused until it is restored."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.open = True
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.open = False
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    def restore(self) -> None:
        self.open = True

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


def record(offset: int, value: bytes, partition: int = 0, **extra: Any) -> ReceivedRecord:
    return ReceivedRecord("jip.registration.v1", partition, offset, value, **extra)


def preregistered(email: str) -> bytes:
    data = {
        **GOLDEN,
        "event_id": str(uuid.uuid4()),
        "payload": {**GOLDEN["payload"], "email": email},
    }
    return json.dumps(data).encode()


def welcomed(app: WelcomeApplication, *emails: str) -> list[bool]:
    return [app.find(Welcome.create_id(email), Welcome) is not None for email in emails]


def an_email() -> str:
    return f"{uuid.uuid4().hex}@example.org"


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


def test_an_event_whose_effects_collide_with_another_record_is_set_aside_and_the_partition_goes_on(
    app,
):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    colliding, later = an_email(), an_email()
    app.save(Rival(Welcome.create_id(colliding)))

    assert inbox.receive(record(1, preregistered(colliding), 5)) is Outcome.QUARANTINED
    assert inbox.receive(record(2, preregistered(later), 5)) is Outcome.PROCESSED

    kept = app.repository.get(QuarantinedMessage.id_for("jip.registration.v1", 5, 1))
    assert "collide with a record already in its store" in kept.reason
    assert welcomed(app, colliding, later) == [False, True]
    assert app.recorder.max_tracking_id("kafka:jip.registration.v1:5") == 3


def test_the_records_of_a_poll_are_recorded_together_and_a_redelivered_poll_changes_nothing(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    first, second = an_email(), an_email()
    newer = json.dumps({**GOLDEN, "event_type": "ApplicantTeleported"}).encode()
    poll = [
        record(1, preregistered(first), 6),
        record(2, preregistered(first), 6),  # republished: the second sees the first's effect
        record(3, b"{not json", 6),
        record(4, newer, 6),
        record(5, preregistered(second), 6),
    ]
    before = welcomes(app)

    assert inbox.receive_batch(poll) == [
        Outcome.PROCESSED,
        Outcome.PROCESSED,
        Outcome.QUARANTINED,
        Outcome.IGNORED,
        Outcome.PROCESSED,
    ]
    assert welcomes(app) == before + 2
    assert app.recorder.max_tracking_id("kafka:jip.registration.v1:6") == 6
    assert (6, 3) in [(m.partition, m.offset) for m in quarantined_messages(app)]

    # Redelivered after a crash before Kafka's commit, or to the next group member.
    assert inbox.receive_batch(poll) == [Outcome.DUPLICATE] * 5
    third = an_email()
    overlapping = [*poll[3:], record(6, preregistered(third), 6)]
    assert inbox.receive_batch(overlapping) == [
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.PROCESSED,
    ]
    assert welcomes(app) == before + 3


def test_a_failing_record_in_a_poll_is_set_aside_alone(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    colliding, before_it, after_it = an_email(), an_email(), an_email()
    app.save(Rival(Welcome.create_id(colliding)))
    poll = [
        record(1, preregistered(before_it), 7),
        record(2, preregistered("bug@example.org"), 7),
        record(3, preregistered(colliding), 7),
        record(4, preregistered(after_it), 7),
    ]

    assert inbox.receive_batch(poll) == [
        Outcome.PROCESSED,
        Outcome.QUARANTINED,
        Outcome.QUARANTINED,
        Outcome.PROCESSED,
    ]
    assert welcomed(app, before_it, colliding, after_it) == [True, False, True]
    reasons = {m.offset: m.reason for m in quarantined_messages(app) if m.partition == 7}
    assert reasons[2] == "the service could not process this event (KeyError)"
    assert "IntegrityError" in reasons[3]

    # Every policy succeeds, but recording the poll together collides.
    colliding, after_it = an_email(), an_email()
    app.save(Rival(Welcome.create_id(colliding)))
    poll = [record(1, preregistered(colliding), 11), record(2, preregistered(after_it), 11)]
    assert inbox.receive_batch(poll) == [Outcome.QUARANTINED, Outcome.PROCESSED]
    assert welcomed(app, colliding, after_it) == [False, True]


def test_records_whose_headers_are_not_text_are_set_aside_whole(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    value = preregistered(an_email())
    headers = (("event_type", b"\xff\xfeApplicant"), ("trace", None), ("ok", b"fine"))

    assert inbox.receive(record(1, value, 8, key=b"k", headers=headers)) is Outcome.QUARANTINED

    kept = app.repository.get(QuarantinedMessage.id_for("jip.registration.v1", 8, 1))
    assert kept.reason == "header 'event_type': not UTF-8 text; header 'trace': no value (null)"
    assert kept.record() == record(1, value, 8, key=b"k", headers=headers), "kept as it came"


def test_a_record_set_aside_is_replayed_once_after_the_fix(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    email = f"bug-{uuid.uuid4().hex}@example.org"
    assert inbox.receive(record(1, preregistered(email), 9)) is Outcome.QUARANTINED
    message_id = QuarantinedMessage.id_for("jip.registration.v1", 9, 1)

    # Replayed before the fix: set aside again, with the reason of this attempt.
    assert inbox.replay(app.repository.get(message_id)) == "failed again"
    assert welcomed(app, email) == [False]

    app.fixed = True
    try:
        assert inbox.replay(app.repository.get(message_id)) == "replayed"
        assert inbox.replay(app.repository.get(message_id)) == "replayed"
    finally:
        app.fixed = False
    assert welcomed(app, email) == [True]
    message = app.repository.get(message_id)
    assert (message.status, message.replays, message.version) == ("replayed", 2, 3)
    assert [type(e).__name__ for e in app.events.get(message_id)] == [
        "Quarantined",
        "ReplayFailed",
        "Replayed",
    ]


def test_a_record_that_cannot_be_read_is_set_aside_again_on_replay(app):
    inbox = Inbox(app, accepts=(ApplicantPreregistered,))
    assert inbox.receive(record(1, b"{not json", 10)) is Outcome.QUARANTINED
    message = app.repository.get(QuarantinedMessage.id_for("jip.registration.v1", 10, 1))

    assert inbox.replay(message) == "failed again"
    assert app.repository.get(message.id).status == "failed again"


async def test_while_the_database_is_unreachable_records_are_held_then_processed(
    app, infra, caplog
):
    link = CuttableLink(infra.pg_host, infra.pg_port)
    port = await link.start()
    behind_link = await asyncio.to_thread(WelcomeApplication, store_env(infra, port))
    inbox = Inbox(behind_link, accepts=(ApplicantPreregistered,))
    email = an_email()
    caplog.set_level(logging.WARNING, logger="runtime.kafka")
    try:
        link.cut()
        delivery = asyncio.create_task(
            deliver(inbox, [record(1, preregistered(email), 12)], max_pause=1.0)
        )

        def held() -> bool:
            return (
                "database unreachable; holding 1 records (jip.registration.v1:12 from offset 1)"
                in caplog.text
            )

        await eventually(held, what="the held records logged", timeout=60)
        assert not delivery.done()
        assert welcomed(app, email) == [False]

        link.restore()
        assert await asyncio.wait_for(delivery, timeout=120) == [Outcome.PROCESSED]
        assert welcomed(app, email) == [True]
    finally:
        await link.close()
        await asyncio.to_thread(behind_link.close)


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
