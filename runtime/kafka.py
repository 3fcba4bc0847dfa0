"""faststream wiring of the inbox and the relay: one broker per service process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from events.catalog import EVENT_MODELS, topic_of
from events.envelope import Envelope, identity_of
from runtime.inbox import Outcome, ReceivedRecord
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


async def _raw_value(message: StreamMessage[Any]) -> bytes:
    # The inbox parses and validates the envelope itself, so that a malformed record is
    # quarantined with a reason instead of failing inside faststream's JSON decoding.
    return bytes(message.body)


def subscribe_inbox(
    broker: KafkaBroker,
    *,
    accepts: tuple[type[Envelope[Any]], ...],
    receive: Callable[[ReceivedRecord], Outcome],
    topics: tuple[str, ...],
    group_id: str,
    description: str,
) -> None:
    """Feed every record of `topics` to `receive` (an `Inbox.receive`), in partition order.

    Offsets are committed to Kafka after processing, but the inbox's own tracking is
    what guarantees exactly-once effects; an unexpected error (database down) nacks the
    record so it is read again, never skipped.
    """
    accepted = [m for m in EVENT_MODELS if issubclass(m, accepts)]

    @broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_value,
        title=f"{group_id}:consume",
        description=description
        + " Consumes: "
        + ", ".join(m.__name__ for m in accepted)
        + "; other event types are skipped.",
    )
    async def on_record(body: bytes, message: KafkaMessage) -> None:
        raw = message.raw_message
        record = ReceivedRecord(raw.topic, raw.partition, raw.offset, body)  # type: ignore[union-attr]
        outcome = await asyncio.to_thread(receive, record)
        if outcome is Outcome.PROCESSED:
            log.debug("processed %s[%d]@%d", record.topic, record.partition, record.offset)


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
