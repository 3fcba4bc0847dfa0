"""The base of every service: an event-sourced application whose recorder also keeps
tracking positions (of the Kafka partitions it consumes, and of its own log)."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from datetime import date
from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    Transcoding,
)

from events.envelope import Envelope
from kernel import actor
from kernel.actor import Actor

if TYPE_CHECKING:
    from runtime.inbox import Quarantine

T = TypeVar("T")
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


#: The actor of events recorded before commands recorded who acted.
UNRECORDED_ACTOR: Actor = actor.system("unrecorded")


class ActorUpcastingMapper(Mapper[uuid.UUID]):
    """Reads events recorded before every command recorded its actor as acted by
    `UNRECORDED_ACTOR`: their aggregates can still be replayed (each event method now
    takes an `actor`), and a re-published event says the actor is not known rather
    than guessing one."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[uuid.UUID]:
        domain_event = super().to_domain_event(stored_event)
        fields = getattr(type(domain_event), "__dataclass_fields__", {})
        if "actor" in fields and "actor" not in domain_event.__dict__:
            # Events are frozen dataclasses; this fills in a field missing from an old
            # record as it is read, and changes nothing stored.
            object.__setattr__(domain_event, "actor", UNRECORDED_ACTOR)
        return domain_event


class ServiceApplication(Application[uuid.UUID]):
    """An event-sourced application whose recorder also keeps tracking positions: of
    the Kafka partitions it consumes (its inbox) and of its own log (its relay)."""

    recorder: ProcessRecorder

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=ActorUpcastingMapper
        )

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
    def retry_once_on_conflict(attempt: Callable[[], T]) -> T:
        """Run a command that loads, decides and saves; if saving fails because an
        aggregate changed since it was read (a policy or a concurrent request), read
        again and decide again: a no-op for a double submission, a conflict for a clash."""
        try:
            return attempt()
        except IntegrityError:
            return attempt()

    @singledispatchmethod
    def policy(self, envelope: Envelope[Any], processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """React to a consumed integration event by collecting new domain events on
        `processing_event`. An event of a type with no registered reaction is not
        consumed.

        A service that consumes declares its own `@singledispatchmethod policy` (a new
        one: registering on this one would add to every service's) and registers one
        handler per consumed event type, named `when_<this>_then_<that>`. Each must be
        idempotent by natural key, because a producer may publish the same event twice.
        """

    @classmethod
    def consumed_event_types(cls) -> tuple[type[Envelope[Any]], ...]:
        """The integration events this service reacts to, read from its policy's
        registered handlers: what its inbox accepts and its consumer documents."""
        # `cls.policy` would be the bound dispatch function, which hides the registry;
        # the descriptor itself holds the dispatcher.
        policy = inspect.getattr_static(cls, "policy")
        assert isinstance(policy, singledispatchmethod)
        return tuple(t for t in policy.dispatcher.registry if t is not object)

    @property
    def system_actor(self) -> Actor:
        """This service acting on its own: in its policies and followers."""
        return actor.system(self.name)

    def process_event(self, envelope: Envelope[Any] | Quarantine, tracking: Tracking) -> None:
        processing_event = ProcessingEvent[uuid.UUID](tracking=tracking)
        if isinstance(envelope, Envelope):
            self.policy(envelope, processing_event)
        else:  # set aside: the record is kept whole instead
            processing_event.collect_events(envelope.to_aggregate())
        self._notify(self._record(processing_event))
