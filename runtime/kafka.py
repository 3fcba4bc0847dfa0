"""faststream wiring of the inbox and the relay: one broker per service process."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from events.catalog import EVENT_MODELS, topic_of
from events.envelope import Envelope, identity_of
from events.topics import DEAD_LETTERS
from runtime.application import ServiceApplication
from runtime.dead_letters import DeadLetterRelay
from runtime.failures import describe_failure
from runtime.follower import LogFollower
from runtime.inbox import TRANSIENT_ERRORS, Inbox, Outcome, ReceivedRecord
from runtime.relay import Send

log = logging.getLogger(__name__)


def make_broker(bootstrap_servers: str, *, service: str) -> KafkaBroker:
    """A broker whose producer waits for every in-sync replica and never duplicates or
    reorders a record on retry (idempotent producer)."""
    return KafkaBroker(
        bootstrap_servers,
        client_id=f"jip-{service}",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        logger=logging.getLogger(f"jip.{service}.kafka"),
    )


async def _parse_without_failing(
    records: tuple[ConsumerRecord[Any, Any], ...],
    parse: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    # faststream's parser decodes every header value as UTF-8 text. A null value or one
    # that is not text made it raise inside faststream, which logged CRITICAL and passed
    # over the whole poll: records lost silently, never seen by the inbox. Here it only
    # gets the readable headers (it uses them for its own correlation id and logging),
    # and the message keeps the records exactly as they arrived, for the inbox to judge.
    readable = tuple(
        dataclasses.replace(record, headers=tuple((k, v) for k, v in record.headers if _is_text(v)))
        for record in records
    )
    message = await parse(readable)
    message.raw_message = records
    return message


def _is_text(value: bytes | None) -> bool:
    if value is None:
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _raw_values(message: StreamMessage[Any]) -> list[bytes]:
    # The inbox parses and validates each envelope itself, so that a malformed record is
    # set aside with a reason instead of failing inside faststream's JSON decoding.
    return [record.value or b"" for record in message.raw_message]


def received(record: ConsumerRecord[Any, Any]) -> ReceivedRecord:
    """The inbox's view of a Kafka record: position, and key, value, headers as bytes."""
    return ReceivedRecord(
        record.topic,
        record.partition,
        record.offset,
        record.value or b"",
        key=record.key,
        headers=tuple(record.headers),
    )


def subscribe_inbox(
    broker: KafkaBroker,
    *,
    service: str,
    accepts: tuple[type[Envelope[Any]], ...],
    inbox: Inbox | None,
    topics: tuple[str, ...],
    group_id: str,
    description: str,
    max_records: int = 500,
) -> None:
    """Feed the records of `topics` to `inbox`, the records of each poll together (up
    to `max_records`), in partition order, and declare the service's dead-letter topic
    (see `dead_letter_relay`). With `inbox` None, only declares (for the AsyncAPI
    document).

    Offsets are committed to Kafka after processing, but the inbox's own tracking is
    what guarantees exactly-once effects. The inbox raises only when the database
    cannot be reached; `deliver` then holds the records and tries again with a growing
    pause, never skipping them and never spinning.
    """
    accepted = [m for m in EVENT_MODELS if issubclass(m, accepts)]

    @broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=100,
        parser=_parse_without_failing,
        decoder=_raw_values,
        title=f"{group_id}:consume",
        description=description
        + " Consumes: "
        + ", ".join(m.__name__ for m in accepted)
        + "; other event types are skipped.",
    )
    async def on_records(body: list[bytes], message: KafkaMessage) -> None:
        if inbox is None:
            raise RuntimeError("documentation only")
        records = [received(r) for r in message.raw_message]
        await deliver(inbox, records)

    _document_dead_letters(broker, service=service)


async def deliver(
    inbox: Inbox, records: Sequence[ReceivedRecord], *, max_pause: float = 30.0
) -> list[Outcome]:
    """Hand `records` to the inbox until it has dealt with all of them. While the
    database cannot be reached, the records are held: each attempt is logged at WARNING
    with the positions held (the lag is visible) and the pause doubles up to
    `max_pause`. Any other failure escaping the inbox (a bug: the inbox sets aside what
    it cannot process) is held the same way, logged at ERROR, rather than skipped."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=0.25, max=max_pause),
        before_sleep=_log_held(records),
    )
    async for attempt in retrying:
        with attempt:
            outcomes = await asyncio.to_thread(inbox.receive_batch, records)
            log.debug("received %d records: %s", len(records), Counter(outcomes))
            return outcomes
    raise AssertionError("unreachable: tenacity retries until the records are received")


def _log_held(records: Sequence[ReceivedRecord]) -> Callable[[RetryCallState], None]:
    first: dict[tuple[str, int], int] = {}
    for r in records:
        first.setdefault((r.topic, r.partition), r.offset)
    held = ", ".join(f"{t}:{p} from offset {o}" for (t, p), o in first.items())

    def log_it(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        if isinstance(error, TRANSIENT_ERRORS):
            log.warning(
                "database unreachable; holding %d records (%s), attempt %d, next in %.1fs: %s",
                len(records),
                held,
                state.attempt_number,
                pause,
                f"{type(error).__name__}: {error}",
            )
        elif error is not None:
            log.error(
                "unexpected failure; holding %d records (%s), attempt %d, next in %.1fs: %s",
                len(records),
                held,
                state.attempt_number,
                pause,
                describe_failure(error),
            )

    return log_it


def _document_dead_letters(broker: KafkaBroker, *, service: str) -> None:
    topic = DEAD_LETTERS[service]
    broker.publisher(
        topic,
        title=f"{topic}:publish",
        description=f"Records {service} set aside (quarantined), as they arrived: the "
        "original key and value; headers dlq-reason, dlq-original-topic, "
        "dlq-original-partition, dlq-original-offset and dlq-consumer, then the original "
        "headers that are text. At least once; after a fix, "
        f"`python -m services.{service} replay` runs them through the inbox again.",
        schema=bytes,
    )


def dead_letter_relay(app: ServiceApplication, broker: KafkaBroker, *, service: str) -> LogFollower:
    """The follower that publishes what the service set aside to its dead-letter topic
    (declared by `subscribe_inbox`)."""

    async def send(
        topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        return await broker.publish(
            value,
            topic,
            key=key,
            headers=headers,
            # faststream would otherwise add a random correlation id of its own.
            correlation_id=headers.get("correlation_id") or headers["dlq-original-offset"],
            no_confirm=True,
        )

    return DeadLetterRelay(app, topic=DEAD_LETTERS[service], consumer=service, send=send)


def document_publications(broker: KafkaBroker, *, service: str, description: str) -> Send:
    """Declare the service's topic and events in the AsyncAPI document and return the
    relay's `send`, which publishes through that same declared publisher."""
    models = [m for m in EVENT_MODELS if identity_of(m)[2] == service]
    topic = topic_of(models[0])
    publisher = broker.publisher(
        topic,
        title=f"{topic}:publish",
        description=description + " Events: " + ", ".join(m.__name__ for m in models) + ".",
        schema=_union(models),
    )

    async def send(
        topic_: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        # faststream would otherwise add a random correlation_id header of its own,
        # contradicting the envelope's.
        return await publisher.publish(
            value,
            topic_,
            key=key,
            headers=headers,
            correlation_id=headers["correlation_id"],
            no_confirm=True,
        )

    return send


def _union(models: list[type[Envelope[Any]]]) -> Any:
    from typing import Union

    return Union[tuple(models)]  # noqa: UP007 - a runtime Union of the listed classes
