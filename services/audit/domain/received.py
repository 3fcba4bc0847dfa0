"""What the audit service keeps: every integration event it read, as it was published.

One `ReceivedEvent` per event id. The first copy read is kept whole (the envelope's
JSON, where it was read, its hash). A later copy of the same id is recorded too: an
identical one is a re-publication (the relay may publish an event twice) and only its
position is noted; a copy whose content differs is kept whole beside the first, as
evidence (a forgery, or a producer that changed what it published).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event


@dataclass(frozen=True)
class Position:
    """Where a record was read: its topic, partition and offset."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


class ReceivedEvent(Aggregate):
    """An integration event as the audit read it from Kafka (its id is the event's)."""

    class Received(Aggregate.Created):
        event_id: uuid.UUID
        topic: str
        partition: int
        offset: int
        envelope: dict[str, Any]
        event_hash: str

    @event(Received)
    def __init__(
        self,
        event_id: uuid.UUID,
        topic: str,
        partition: int,
        offset: int,
        envelope: dict[str, Any],
        event_hash: str,
    ) -> None:
        self.event_id = event_id
        self.position = Position(topic, partition, offset)
        self.envelope = envelope
        self.event_hash = event_hash
        #: Later copies: (position, hash, envelope when it differs from the first).
        self.copies: list[tuple[Position, str, dict[str, Any] | None]] = []

    @classmethod
    def create_id(cls, event_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return event_id

    class ReceivedAgain(Aggregate.Event):
        topic: str
        partition: int
        offset: int
        event_hash: str
        envelope: dict[str, Any] | None

    @event(ReceivedAgain)
    def _received_again(
        self,
        topic: str,
        partition: int,
        offset: int,
        event_hash: str,
        envelope: dict[str, Any] | None,
    ) -> None:
        self.copies.append((Position(topic, partition, offset), event_hash, envelope))

    def receive_again(
        self, topic: str, partition: int, offset: int, envelope: dict[str, Any], event_hash: str
    ) -> None:
        """Another copy of this event id, read at another position (the same position
        read twice is the same copy, and changes nothing)."""
        position = Position(topic, partition, offset)
        if position == self.position or any(p == position for p, _, _ in self.copies):
            return
        differs = event_hash != self.event_hash
        self._received_again(topic, partition, offset, event_hash, envelope if differs else None)

    @property
    def conflicting_copies(self) -> list[tuple[Position, str, dict[str, Any]]]:
        """The copies whose content differs from the first one read."""
        return [(p, h, e) for p, h, e in self.copies if e is not None]
