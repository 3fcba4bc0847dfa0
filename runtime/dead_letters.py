"""Publish the records a consuming service set aside to its dead-letter topic, by
following the service's own log: setting a record aside is recorded once, in the
store, with the consumer's position; this relay only translates what was recorded."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from runtime.follower import LogFollower
from runtime.inbox import QuarantinedMessage, ReceivedRecord

log = logging.getLogger(__name__)

#: Sends one record (topic, key, value, headers) without waiting for the broker.
DeadLetterSend = Callable[
    [str, bytes | None, bytes, dict[str, str]], Awaitable["asyncio.Future[Any]"]
]

#: The stored events that mean "set aside": the first time, and again after a replay.
_SET_ASIDE = (QuarantinedMessage.Quarantined, QuarantinedMessage.ReplayFailed)


def dead_letter_headers(record: ReceivedRecord, reason: str, consumer: str) -> dict[str, str]:
    """Why and where from, then the original headers that are text (one that is not
    text cannot travel in this client's headers; the store keeps it whole)."""
    headers = {
        "dlq-reason": reason,
        "dlq-original-topic": record.topic,
        "dlq-original-partition": str(record.partition),
        "dlq-original-offset": str(record.offset),
        "dlq-consumer": consumer,
    }
    for key, value in record.headers:
        if value is None or key in headers:
            continue
        try:
            headers[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return headers


class DeadLetterRelay(LogFollower):
    """Publishes each record set aside (and each replay that failed again) to `topic`,
    in log order, at least once: a crash before the position is saved publishes those
    records again, with the same original position in their headers."""

    # Only the events that set a record aside: the rest of the log (every case and
    # notification) is not this relay's business and need not be decoded.
    event_types = _SET_ASIDE

    def __init__(
        self,
        app: Application[Any],
        *,
        topic: str,
        consumer: str,
        send: DeadLetterSend,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
    ) -> None:
        super().__init__(
            app, name=f"dead-letters:{topic}", batch_size=batch_size, idle_seconds=idle_seconds
        )
        self.topic = topic
        self.consumer = consumer
        self.send = send

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        pending = []
        for domain_event, _ in batch:
            if isinstance(domain_event, QuarantinedMessage.Quarantined):
                message = domain_event.mutate(None)
            elif isinstance(domain_event, QuarantinedMessage.ReplayFailed):
                message = await asyncio.to_thread(
                    self._message_at, domain_event.originator_id, domain_event.originator_version
                )
            else:
                continue
            assert isinstance(message, QuarantinedMessage)
            record = message.record()
            headers = dead_letter_headers(record, message.reason, self.consumer)
            pending.append(await self.send(self.topic, record.key, record.value, headers))
        if pending:
            await asyncio.gather(*pending)
            log.warning("published %d set-aside records to %s", len(pending), self.topic)

    def _message_at(self, message_id: uuid.UUID, version: int) -> QuarantinedMessage:
        message: QuarantinedMessage = self.app.repository.get(message_id, version=version)
        return message
