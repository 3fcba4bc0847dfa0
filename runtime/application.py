"""The base of every service: an event-sourced application whose recorder also keeps
tracking positions (of the Kafka partitions it consumes, and of its own log)."""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    Tracking,
    Transcoding,
)

from events.envelope import Envelope

if TYPE_CHECKING:
    from runtime.inbox import Quarantine

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
A = TypeVar("A", bound=Aggregate)


class DateAsISO(Transcoding):
    # eventsourcing's default transcoder knows UUID, Decimal and datetime, but not date:
    # without this, saving an event with a `date` (a date of birth) fails at save time.
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class ServiceApplication(Application[uuid.UUID]):
    """An event-sourced application whose recorder also keeps tracking positions: of
    the Kafka partitions it consumes (its inbox) and of its own log (its relay)."""

    recorder: ProcessRecorder

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def find(self, aggregate_id: uuid.UUID, kind: type[A]) -> A | None:
        """The aggregate of that kind, or None. (`id in repository` replays the
        aggregate only to answer yes or no; and since one store holds several kinds, an
        id that comes from outside must also name an aggregate of the expected kind.)"""
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    @staticmethod
    def retry_on_conflict(attempt: Callable[[], T]) -> T:
        """Run a command that loads, decides and saves; if saving fails because an
        aggregate changed since it was read (a policy or a concurrent request), read
        again and decide again, until the decision is made against the current state:
        a no-op for a double submission (the command finds its own result), a rule's
        conflict for a real clash. Under contention (twenty identical requests at once)
        one attempt may lose to several others in turn, hence several attempts, with a
        small random pause so that the losers do not collide again in step."""
        for attempt_number in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return attempt()
            except IntegrityError:
                if attempt_number == CONFLICT_ATTEMPTS:
                    raise
                log.debug("conflict on attempt %d; deciding again", attempt_number)
                time.sleep(_conflict_pause(attempt_number))
        raise AssertionError("unreachable")

    #: The former name, kept for callers not yet renamed.
    retry_once_on_conflict = retry_on_conflict

    def policy(self, envelope: Envelope[Any], processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """React to a consumed integration event by collecting new domain events on
        `processing_event`. Services that consume override this; it must be idempotent
        by natural key, because a producer may publish the same event twice."""

    def process_event(self, envelope: Envelope[Any] | Quarantine, tracking: Tracking) -> None:
        """Run the policy on a consumed event and record its events with the position,
        atomically. If an aggregate changed meanwhile (an HTTP command saved the same
        case), the policy runs again on the current state: it is idempotent, so this
        ends as if the two had come one after the other. A conflict on the position
        itself (another consumer recorded it first) is not retried: it is raised for the
        inbox to recognise."""
        for attempt_number in range(1, CONFLICT_ATTEMPTS + 1):
            processing_event = ProcessingEvent[uuid.UUID](tracking=tracking)
            if isinstance(envelope, Envelope):
                self.policy(envelope, processing_event)
            else:  # set aside: the record is kept whole instead
                processing_event.collect_events(envelope.to_aggregate())
            try:
                recordings = self._record(processing_event)
            except IntegrityError:
                already = self.recorder.has_tracking_id(
                    tracking.application_name, tracking.notification_id
                )
                if already or attempt_number == CONFLICT_ATTEMPTS:
                    raise
                # Expected under load and resolved by deciding again: not an error.
                log.info(
                    "version conflict at %s@%d (attempt %d); deciding again",
                    tracking.application_name,
                    tracking.notification_id,
                    attempt_number,
                )
                time.sleep(_conflict_pause(attempt_number))
                continue
            self._notify(recordings)
            return


def conflict_retried(command: Callable[P, T]) -> Callable[P, T]:
    """Decorate a command method that loads, decides and saves: it is run again, on the
    current state, when saving meets a concurrent change (see `retry_on_conflict`). An
    identical request sent twice at once then finds its own result instead of a 409."""

    @functools.wraps(command)
    def retried(*args: P.args, **kwargs: P.kwargs) -> T:
        return ServiceApplication.retry_on_conflict(lambda: command(*args, **kwargs))

    return retried


#: Attempts of a command or policy that keeps meeting concurrent changes. Each attempt
#: re-reads the state, so the bound is reached only by a real livelock.
CONFLICT_ATTEMPTS = 10


def _conflict_pause(attempt_number: int) -> float:
    """A few milliseconds, growing with the attempts, randomised (full jitter)."""
    return random.uniform(0, min(0.002 * 2**attempt_number, 0.1))  # noqa: S311 - not crypto
