"""Consume envelopes from Kafka exactly once in effect: the position of each record is
recorded in the same transaction as the events its processing produced."""

from __future__ import annotations

import base64
import enum
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking
from eventsourcing.utils import get_topic
from pydantic import ValidationError

from events.catalog import UnknownEventType, parse_event
from events.envelope import Envelope
from runtime.application import ServiceApplication
from runtime.failures import describe_failure

log = logging.getLogger(__name__)


class QuarantinedMessage(Aggregate):
    """A record that could not be read as an event of the contract. Kept whole (value in
    base64) so an operator can inspect and replay it; the consumer moves on."""

    class Quarantined(Aggregate.Created):
        topic: str
        partition: int
        offset: int
        reason: str
        value_base64: str

    @event(Quarantined)
    def __init__(
        self, topic: str, partition: int, offset: int, reason: str, value_base64: str
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        self.value_base64 = value_base64

    @staticmethod
    def id_for(topic: str, partition: int, offset: int) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"kafka://{topic}/{partition}/{offset}")

    @classmethod
    def create_id(cls, topic: str, partition: int, offset: int, **_: Any) -> uuid.UUID:
        return cls.id_for(topic, partition, offset)


@dataclass(frozen=True)
class ReceivedRecord:
    """What the inbox needs of a Kafka record."""

    topic: str
    partition: int
    offset: int
    value: bytes

    @property
    def tracking(self) -> Tracking:
        # The position recorded is the next offset to read, as Kafka commits it.
        return Tracking(f"kafka:{self.topic}:{self.partition}", self.offset + 1)


@dataclass(frozen=True)
class Quarantine:
    record: ReceivedRecord
    reason: str

    def to_aggregate(self) -> QuarantinedMessage:
        return QuarantinedMessage(
            topic=self.record.topic,
            partition=self.record.partition,
            offset=self.record.offset,
            reason=self.reason,
            value_base64=base64.b64encode(self.record.value).decode(),
        )


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


def describe_invalid(error: ValidationError) -> str:
    """The fields that failed and why, without the values (which may be personal data)."""
    parts = []
    for detail in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in detail["loc"]) or "(message)"
        parts.append(f"{where}: {detail['msg']}")
    return "; ".join(parts)


class Inbox:
    """Receives records for one service application.

    - already processed (position tracked): skipped;
    - not a valid envelope, or a known event with an invalid payload: quarantined;
    - an event type this contract version does not know, or that the service does not
      consume: position recorded, nothing else;
    - otherwise the application's policy runs and its events are recorded atomically
      with the position; if the policy itself fails, the record is quarantined too,
      while a database failure is raised so that the record is read again.
    """

    def __init__(self, app: ServiceApplication, accepts: tuple[type[Envelope[Any]], ...]) -> None:
        self.app = app
        self.accepts = accepts

    def receive(self, record: ReceivedRecord) -> Outcome:
        tracking = record.tracking
        recorder = self.app.recorder
        if recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return Outcome.DUPLICATE
        try:
            envelope = parse_event(record.value)
        except UnknownEventType:
            return self._skip(tracking)
        except ValidationError as error:
            reason = describe_invalid(error)
            log.warning(
                "quarantined %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
            )
            return self._apply(Quarantine(record, reason), record, Outcome.QUARANTINED)
        if not isinstance(envelope, self.accepts):
            return self._skip(tracking)
        try:
            return self._apply(envelope, record, Outcome.PROCESSED)
        except PersistenceError:
            raise  # the database is unreachable or busy: the record is read again later
        except Exception as error:
            # The policy cannot handle this event (a bug, or data it did not foresee).
            # Redelivering it would fail forever and hold up the partition, so it is
            # quarantined like a malformed record: kept whole, for a fix and a replay.
            # Only the exception's type is kept: its message may quote personal data.
            log.error(
                "policy failed on %s %s; quarantined: %s",
                envelope.event_type,
                envelope.event_id,
                describe_failure(error),
            )
            reason = f"the service could not process this event ({type(error).__name__})"
            return self._apply(Quarantine(record, reason), record, Outcome.QUARANTINED)

    def _apply(
        self, item: Envelope[Any] | Quarantine, record: ReceivedRecord, outcome: Outcome
    ) -> Outcome:
        tracking = record.tracking
        try:
            self.app.process_event(item, tracking)
        except IntegrityError:
            # Another member of the consumer group recorded this position first (a
            # rebalance hands a partition over while a record is in flight).
            if self.app.recorder.has_tracking_id(
                tracking.application_name, tracking.notification_id
            ):
                return Outcome.DUPLICATE
            raise
        return outcome

    def _skip(self, tracking: Tracking) -> Outcome:
        try:
            self.app.recorder.insert_tracking(tracking)
        except IntegrityError:
            return Outcome.DUPLICATE
        return Outcome.IGNORED


def quarantined_messages(app: ServiceApplication, limit: int = 1000) -> list[QuarantinedMessage]:
    """The records this service set aside, oldest first: what an operator inspects
    (and, once the cause is fixed, replays) with `python -m services.<name> quarantine`."""
    topic = get_topic(QuarantinedMessage.Quarantined)
    notifications = app.recorder.select_notifications(start=None, limit=limit, topics=[topic])
    return [app.repository.get(uuid.UUID(str(n.originator_id))) for n in notifications]
