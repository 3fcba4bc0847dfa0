"""Publish a service's stored events to Kafka by following its notification log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from events import codec
from events.envelope import Envelope
from runtime.follower import LogFollower

log = logging.getLogger(__name__)

#: Turns a stored (private) domain event into its public envelope, or None when the
#: event is internal to the service and not part of the contract.
Translator = Callable[[Any], Envelope[Any] | None]
#: Sends one record without waiting for the broker; returns the delivery future.
Send = Callable[[str, bytes, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]]


class KafkaRelay(LogFollower):
    """Publishes every public event the service recorded, in log order, to `topic`.

    Per batch: send all records (the idempotent producer keeps per-partition order),
    wait for every acknowledgement, then record the position. A crash in between
    re-publishes events with the same `event_id`, which consumers deduplicate.
    """

    def __init__(
        self,
        app: Application[Any],
        *,
        topic: str,
        translate: Translator,
        send: Send,
        batch_size: int = 500,
        idle_seconds: float = 1.0,
    ) -> None:
        super().__init__(
            app, name=f"relay:{topic}", batch_size=batch_size, idle_seconds=idle_seconds
        )
        self.topic = topic
        self.translate = translate
        self.send = send

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        pending = []
        for domain_event, _notification_id in batch:
            envelope = self.translate(domain_event)
            if envelope is None:
                continue
            pending.append(
                await self.send(
                    self.topic, codec.key(envelope), codec.encode(envelope), codec.headers(envelope)
                )
            )
        if pending:
            await asyncio.gather(*pending)
            log.info("relayed %d events to %s", len(pending), self.topic)


def envelope_for(
    model: type[Envelope[Any]], domain_event: Any, payload: dict[str, Any]
) -> Envelope[Any]:
    """The public envelope of a stored domain event. Every service's domain events carry
    `correlation_id` and `causation_id`; id, version and time come from eventsourcing."""
    from events.envelope import derive_event_id

    return model.model_validate(
        {
            "event_id": derive_event_id(
                domain_event.originator_id, domain_event.originator_version
            ),
            "occurred_at": domain_event.timestamp,
            "aggregate_id": domain_event.originator_id,
            "aggregate_version": domain_event.originator_version,
            "correlation_id": domain_event.correlation_id,
            "causation_id": domain_event.causation_id,
            "payload": payload,
        }
    )
