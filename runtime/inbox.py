"""Consume envelopes from Kafka exactly once in effect: the position of each record is
recorded in the same transaction as the events its processing produced.

Every record that arrives ends in one of four ways, and only these: processed, skipped
by design (already processed, or an event type the service does not consume), or set
aside (quarantined) with its reason, kept whole in the service's own store for a fix
and a replay. The one thing that may hold a record is the database being unreachable;
the caller then retries the same records later (see `runtime.kafka`).
"""

from __future__ import annotations

import base64
import enum
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    Tracking,
)
from eventsourcing.utils import get_topic
from pydantic import ValidationError

from events.catalog import UnknownEventType, parse_event
from events.envelope import Envelope
from runtime.application import CONFLICT_ATTEMPTS, ServiceApplication, conflict_pause
from runtime.failures import describe_failure

log = logging.getLogger(__name__)

#: Errors that say the database cannot be reached right now (a lost connection, no free
#: connection in the pool: eventsourcing's ConnectionUnavailableError is an
#: OperationalError). Only these hold a record; everything else is a property of the
#: record or of the code, would fail again on every delivery, and so sets it aside.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

#: A header as Kafka carries it: a text key and a value of any bytes, or none at all.
Header = tuple[str, bytes | None]
Status = Literal["set aside", "replayed", "failed again"]


class QuarantinedMessage(Aggregate):
    """A record the service set aside: not a valid event of the contract, or one its
    policy could not act on. Kept whole (key, value and headers in base64) so that an
    operator can inspect it, fix the cause and replay it; the consumer moves on."""

    class Quarantined(Aggregate.Created):
        # v2 keeps the record's key and headers too: the dead-letter topic and a
        # replay need the record as it arrived, not only its value.
        class_version = 2
        topic: str
        partition: int
        offset: int
        reason: str
        value_base64: str
        key_base64: str | None
        headers: list[list[str | None]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["key_base64"] = None
            state["headers"] = []

    @event(Quarantined)
    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        reason: str,
        value_base64: str,
        key_base64: str | None,
        headers: list[list[str | None]],
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.reason = reason
        self.value_base64 = value_base64
        self.key_base64 = key_base64
        self.headers = headers
        self.status: Status = "set aside"
        self.replays = 0

    class Replayed(Aggregate.Event):
        outcome: str

    @event(Replayed)
    def replayed(self, outcome: str) -> None:
        """Run through the inbox again after a fix, and processed (or skipped by
        design): recorded together with what the processing produced."""
        self.status = "replayed"
        self.replays += 1

    class ReplayFailed(Aggregate.Event):
        reason: str

    @event(ReplayFailed)
    def replay_failed(self, reason: str) -> None:
        """Run through the inbox again and set aside again, for this new reason."""
        self.status = "failed again"
        self.reason = reason
        self.replays += 1

    @staticmethod
    def id_for(topic: str, partition: int, offset: int) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"kafka://{topic}/{partition}/{offset}")

    @classmethod
    def create_id(cls, topic: str, partition: int, offset: int, **_: Any) -> uuid.UUID:
        return cls.id_for(topic, partition, offset)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def record(self) -> ReceivedRecord:
        """The record as it arrived, for a replay."""
        return ReceivedRecord(
            self.topic,
            self.partition,
            self.offset,
            base64.b64decode(self.value_base64),
            key=_b64decode(self.key_base64),
            headers=tuple((str(k), _b64decode(v)) for k, v in self.headers),
        )


def _b64encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _b64decode(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


@dataclass(frozen=True)
class ReceivedRecord:
    """What the inbox needs of a Kafka record: its position, and its key, value and
    headers exactly as they arrived (bytes, undecoded)."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: tuple[Header, ...] = ()

    @property
    def tracking(self) -> Tracking:
        # The position recorded is the next offset to read, as Kafka commits it.
        return Tracking(f"kafka:{self.topic}:{self.partition}", self.offset + 1)

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Quarantine:
    """The decision to set a record aside, with the reason an operator will read."""

    record: ReceivedRecord
    reason: str

    def to_aggregate(self) -> QuarantinedMessage:
        return QuarantinedMessage(
            topic=self.record.topic,
            partition=self.record.partition,
            offset=self.record.offset,
            reason=self.reason,
            value_base64=base64.b64encode(self.record.value).decode(),
            key_base64=_b64encode(self.record.key),
            headers=[[k, _b64encode(v)] for k, v in self.record.headers],
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


def describe_headers(headers: Iterable[Header]) -> str | None:
    """Why the record's headers cannot be read as the contract writes them (text
    values: they repeat the envelope's type, version and id), or None if they can."""
    problems = []
    for key, value in headers:
        if value is None:
            problems.append(f"header {key!r}: no value (null)")
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"header {key!r}: not UTF-8 text")
    return "; ".join(problems) or None


def describe_policy_failure(error: Exception) -> str:
    """The reason kept with a record whose processing failed. Only the exception's type
    is kept: its message may quote personal data."""
    if isinstance(error, IntegrityError):
        return (
            "the service could not record this event's effects: they collide with a "
            "record already in its store (IntegrityError)"
        )
    return f"the service could not process this event ({type(error).__name__})"


#: What triage decides for one record: act on this event, set it aside, or skip it.
Triage = Envelope[Any] | Quarantine | None


class Inbox:
    """Receives records for one service application.

    - already processed (position tracked): skipped;
    - headers that are not text, not a valid envelope, or a known event with an invalid
      payload: set aside;
    - an event type this contract version does not know, or that the service does not
      consume: position recorded, nothing else;
    - otherwise the application's policy runs and its events are recorded atomically
      with the position. If the policy fails, or its effects collide with what the store
      holds, the record is set aside too. Only a database that cannot be reached
      (`TRANSIENT_ERRORS`) is raised, so that the same records are read again later.

    `receive_batch` does the same for the records of one poll, one transaction per
    partition, and falls back to one record at a time for a partition where anything
    goes wrong, so that a failing record is set aside alone.
    """

    def __init__(
        self,
        app: ServiceApplication,
        accepts: tuple[type[Envelope[Any]], ...],
        *,
        policy_attempts: int = CONFLICT_ATTEMPTS,
    ) -> None:
        self.app = app
        self.accepts = accepts
        #: A save that collides may be a concurrent write (an HTTP command saving the
        #: same aggregate): reading again and deciding again resolves that. A collision
        #: with a record of another kind fails every time and is set aside.
        self.policy_attempts = policy_attempts

    # -- one record --------------------------------------------------------------------
    def receive(self, record: ReceivedRecord) -> Outcome:
        tracking = record.tracking
        if self.app.recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return Outcome.DUPLICATE
        return self._process(record, self.triage(record))

    def triage(self, record: ReceivedRecord) -> Triage:
        """Read a record without acting on it: the event to act on, a reason to set it
        aside, or None when it is to be skipped by design."""
        problem = describe_headers(record.headers)
        if problem is not None:
            return self._set_aside_for(record, problem)
        try:
            envelope = parse_event(record.value)
        except UnknownEventType:
            return None
        except ValidationError as error:
            return self._set_aside_for(record, describe_invalid(error))
        if not isinstance(envelope, self.accepts):
            return None
        return envelope

    @staticmethod
    def _set_aside_for(record: ReceivedRecord, reason: str) -> Quarantine:
        log.warning("setting aside %s: %s", record.position, reason)
        return Quarantine(record, reason)

    def _process(self, record: ReceivedRecord, item: Triage) -> Outcome:
        tracking = record.tracking
        if item is None:
            return self._skip(tracking)
        if isinstance(item, Quarantine):
            return self._set_aside(item)
        failure: Exception | None = None
        for attempt in range(1, self.policy_attempts + 1):
            try:
                self.app.process_event(item, tracking)
            except TRANSIENT_ERRORS:
                raise
            except IntegrityError as error:
                if self._tracked(tracking):
                    # Another member of the consumer group recorded this position first
                    # (a rebalance handed the partition over while a record was in flight).
                    return Outcome.DUPLICATE
                failure = error
                if attempt < self.policy_attempts:
                    # Expected under load (an HTTP command saved the same case) and
                    # resolved by deciding again: not an error, so not logged as one.
                    log.info(
                        "version conflict at %s (attempt %d); deciding again",
                        record.position,
                        attempt,
                    )
                    time.sleep(conflict_pause(attempt))
            except Exception as error:
                failure = error
                break
            else:
                return Outcome.PROCESSED
        assert failure is not None
        log.error(
            "policy failed on %s %s at %s; setting it aside: %s",
            item.event_type,
            item.event_id,
            record.position,
            describe_failure(failure),
        )
        return self._set_aside(Quarantine(record, describe_policy_failure(failure)))

    def _set_aside(self, quarantine: Quarantine) -> Outcome:
        tracking = quarantine.record.tracking
        try:
            self.app.process_event(quarantine, tracking)
        except IntegrityError:
            if self._tracked(tracking):
                return Outcome.DUPLICATE
            raise
        return Outcome.QUARANTINED

    def _skip(self, tracking: Tracking) -> Outcome:
        try:
            self.app.recorder.insert_tracking(tracking)
        except IntegrityError:
            return Outcome.DUPLICATE
        return Outcome.IGNORED

    def _tracked(self, tracking: Tracking) -> bool:
        return self.app.recorder.has_tracking_id(
            tracking.application_name, tracking.notification_id
        )

    # -- the records of one poll -------------------------------------------------------
    def receive_batch(self, records: Sequence[ReceivedRecord]) -> list[Outcome]:
        """Receive the records of one poll; returns their outcomes, in their order.

        Per partition: one read of the tracked position, then every fresh record's
        policy runs against one unit of work (an aggregate changed by an earlier record
        is what a later record sees), and all their events are recorded with the
        partition's last position in one transaction. A record redelivered after a
        crash or a rebalance is recognised by the position alone.
        """
        outcomes: dict[tuple[str, int, int], Outcome] = {}
        partitions: dict[tuple[str, int], list[ReceivedRecord]] = {}
        for record in records:
            partitions.setdefault((record.topic, record.partition), []).append(record)
        for chunk in partitions.values():
            for record, outcome in zip(chunk, self._receive_chunk(chunk), strict=True):
                outcomes[(record.topic, record.partition, record.offset)] = outcome
        return [outcomes[(r.topic, r.partition, r.offset)] for r in records]

    def _receive_chunk(self, chunk: list[ReceivedRecord]) -> list[Outcome]:
        tracking_name = chunk[0].tracking.application_name
        position = self.app.recorder.max_tracking_id(tracking_name) or 0
        fresh = [r for r in chunk if r.tracking.notification_id > position]
        outcomes = {r.offset: Outcome.DUPLICATE for r in chunk}
        items = [(record, self.triage(record)) for record in fresh]
        if len(items) == 1:
            record, item = items[0]
            outcomes[record.offset] = self._process(record, item)
        elif items:
            try:
                self.app.process_chunk([item for _, item in items], items[-1][0].tracking)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                # A policy failed, or recording the chunk collided (another group member,
                # a concurrent command, a record of another kind): one record at a time,
                # each in its own transaction, so that only the culprit is set aside.
                log.info(
                    "%d records of %s not recorded together (%s); one at a time",
                    len(items),
                    tracking_name,
                    type(error).__name__,
                )
                for record, item in items:
                    outcomes[record.offset] = (
                        Outcome.DUPLICATE
                        if self._tracked(record.tracking)
                        else self._process(record, item)
                    )
            else:
                for record, item in items:
                    outcomes[record.offset] = _outcome_of(item)
        return [outcomes[r.offset] for r in chunk]

    # -- replay --------------------------------------------------------------------------
    def replay(self, message: QuarantinedMessage) -> Status:
        """Run a set-aside record through the inbox again (after a fix). The outcome is
        recorded on the message in the same transaction as the policy's effects, so a
        replay happens once, and the message says what became of it."""
        if message.status == "replayed":
            return message.status
        item = self.triage(message.record())
        if isinstance(item, Envelope):
            try:
                message.replayed(Outcome.PROCESSED.value)
                self.app.process_event(item, None, also=(message,))
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                current: QuarantinedMessage = self.app.repository.get(message.id)
                if current.status == "replayed":
                    return current.status  # replayed meanwhile by another operator
                log.error(
                    "replay of %s failed again: %s", message.position, describe_failure(error)
                )
                current.replay_failed(describe_policy_failure(error))
                self.app.save(current)
                return current.status
            return message.status
        if isinstance(item, Quarantine):
            message.replay_failed(item.reason)
        else:
            message.replayed(Outcome.IGNORED.value)
        self.app.save(message)
        return message.status


def _outcome_of(item: Triage) -> Outcome:
    if item is None:
        return Outcome.IGNORED
    if isinstance(item, Quarantine):
        return Outcome.QUARANTINED
    return Outcome.PROCESSED


def quarantined_messages(app: ServiceApplication, limit: int = 1000) -> list[QuarantinedMessage]:
    """The records this service set aside, oldest first: what an operator inspects
    (and, once the cause is fixed, replays) with `python -m services.<name> quarantine`."""
    topic = get_topic(QuarantinedMessage.Quarantined)
    notifications = app.recorder.select_notifications(start=None, limit=limit, topics=[topic])
    return [app.repository.get(uuid.UUID(str(n.originator_id))) for n in notifications]


def quarantined_message_at(app: ServiceApplication, position: str) -> QuarantinedMessage:
    """The record set aside at `topic:partition:offset`."""
    try:
        topic, partition, offset = position.rsplit(":", 2)
        aggregate_id = QuarantinedMessage.id_for(topic, int(partition), int(offset))
    except ValueError as error:
        raise ValueError(f"not a position (topic:partition:offset): {position!r}") from error
    try:
        message: QuarantinedMessage = app.repository.get(aggregate_id)
    except AggregateNotFoundError as error:
        raise LookupError(f"no record was set aside at {position}") from error
    if not isinstance(message, QuarantinedMessage):
        raise LookupError(f"no record was set aside at {position}")
    return message
