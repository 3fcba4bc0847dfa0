"""The base of every service: an event-sourced application whose recorder also keeps
tracking positions (of the Kafka partitions it consumes, and of its own log)."""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
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
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from events.envelope import Envelope
from kernel import actor
from kernel.actor import Actor

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


@dataclass
class UnitOfWork:
    """The aggregates read or changed while the records of one chunk are processed
    (None: known not to exist). With `guess_absent`, an aggregate not read beforehand is
    answered "not found" without a query, and its id noted in `guessed`; the caller
    then checks all the guesses with one query and does the chunk again if one was
    wrong."""

    aggregates: dict[uuid.UUID, Any] = field(default_factory=dict)
    guess_absent: bool = False
    guessed: set[uuid.UUID] = field(default_factory=set)


class UnitOfWorkRepository(Repository[uuid.UUID]):
    """The repository, which during a unit of work (in the calling thread only) answers
    from the aggregates read or changed earlier in that unit: the policies of a chunk of
    records then see each other's effects before they are recorded together. Other
    threads (HTTP commands) never see them."""

    #: How many ids of aggregates known to exist are remembered, so as not to guess
    #: them absent again (a cohort every registration asks for).
    KNOWN_TO_EXIST_MAXSIZE = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        # Aggregates are never deleted: once seen, an id exists for good.
        self._known_to_exist: OrderedDict[uuid.UUID, None] = OrderedDict()

    def remember_existing(self, aggregate_ids: Iterable[uuid.UUID]) -> None:
        for aggregate_id in aggregate_ids:
            self._known_to_exist[aggregate_id] = None
            self._known_to_exist.move_to_end(aggregate_id)
        while len(self._known_to_exist) > self.KNOWN_TO_EXIST_MAXSIZE:
            self._known_to_exist.popitem(last=False)

    @property
    def unit(self) -> UnitOfWork | None:
        unit: UnitOfWork | None = getattr(self._local, "unit", None)
        return unit

    @contextmanager
    def unit_of_work(self, *, guess_absent: bool = False) -> Iterator[UnitOfWork]:
        unit = UnitOfWork(guess_absent=guess_absent)
        self._local.unit = unit
        try:
            yield unit
        finally:
            self._local.unit = None

    @property
    def reads_many_at_once(self) -> bool:
        """Whether aggregates can be read many at once (PostgreSQL, no snapshots, no
        cache); elsewhere each is read when asked for, as usual."""
        return (
            self.snapshot_store is None
            and self.cache is None
            and isinstance(self.event_store.recorder, PostgresAggregateRecorder)
        )

    def prefetch(self, aggregate_ids: Iterable[uuid.UUID]) -> None:
        """Read the aggregates of `aggregate_ids` into the current unit of work with one
        query, instead of one query each when the policies ask for them (most ask for
        the aggregate the consumed event is about)."""
        unit = self.unit
        if unit is None or not self.reads_many_at_once:
            return
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in unit.aggregates]
        found = self.read_many(wanted)
        for aggregate_id in wanted:
            unit.aggregates[aggregate_id] = found.get(aggregate_id)

    def read_many(self, aggregate_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """The aggregates of `aggregate_ids` that exist, read with one query."""
        recorder = self.event_store.recorder
        if not aggregate_ids:
            return {}
        assert isinstance(recorder, PostgresAggregateRecorder)
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        stored: dict[uuid.UUID, list[StoredEvent]] = {}
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (list(aggregate_ids),), prepare=True)
            for row in curs.fetchall():
                stored.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        to_domain_event = self.event_store.mapper.to_domain_event
        return {
            aggregate_id: project_aggregate(None, map(to_domain_event, events))
            for aggregate_id, events in stored.items()
        }

    def get(self, aggregate_id: uuid.UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        unit = self.unit
        if unit is None or version is not None or kwargs:
            return super().get(aggregate_id, version=version, **kwargs)
        if aggregate_id in unit.aggregates:
            known = unit.aggregates[aggregate_id]
            if known is None:
                raise AggregateNotFoundError(aggregate_id)
            return known
        if unit.guess_absent and aggregate_id not in self._known_to_exist:
            unit.guessed.add(aggregate_id)
            unit.aggregates[aggregate_id] = None
            raise AggregateNotFoundError(aggregate_id)
        try:
            aggregate: Any = super().get(aggregate_id)
            unit.aggregates[aggregate_id] = aggregate
            self.remember_existing([aggregate_id])
        except AggregateNotFoundError:
            unit.aggregates[aggregate_id] = None  # a later record may create it
            raise
        return aggregate


class ServiceApplication(Application[uuid.UUID]):
    """An event-sourced application whose recorder also keeps tracking positions: of
    the Kafka partitions it consumes (its inbox) and of its own log (its relay)."""

    recorder: ProcessRecorder
    repository: UnitOfWorkRepository

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=ActorUpcastingMapper
        )

    def construct_repository(self) -> UnitOfWorkRepository:
        # As Application.construct_repository, with the unit-of-work repository.
        base = super().construct_repository()
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return UnitOfWorkRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def stored_events_of(self, *event_classes: type, page: int = 1000) -> Iterator[Any]:
        """Every stored event of these domain event classes, in the order of the log,
        read `page` at a time (for maintenance and audit: a whole cohort, every
        decision)."""
        topics = [get_topic(cls) for cls in event_classes]
        start = 0
        while notifications := self.recorder.select_notifications(
            start=start, limit=page, topics=topics, inclusive_of_start=False
        ):
            for notification in notifications:
                yield self.mapper.to_domain_event(notification)
            start = notifications[-1].id

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
                time.sleep(conflict_pause(attempt_number))
        raise AssertionError("unreachable")

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

    def likely_read(self, envelope: Envelope[Any]) -> Iterable[uuid.UUID]:
        """The aggregates a policy is likely to read for this event, read beforehand for
        a whole chunk at once: by default the aggregate the event is about and the
        applicant it concerns (services key their own aggregates by the same ids)."""
        yield envelope.aggregate_id
        applicant_id = getattr(envelope.payload, "applicant_id", None)
        if isinstance(applicant_id, uuid.UUID) and applicant_id != envelope.aggregate_id:
            yield applicant_id

    def process_event(
        self,
        item: Envelope[Any] | Quarantine,
        tracking: Tracking | None,
        also: Sequence[Aggregate] = (),
    ) -> None:
        """Act on one consumed record and record its effects, the aggregates in `also`
        and the position `tracking`, in one transaction."""
        processing_event = ProcessingEvent[uuid.UUID](tracking=tracking)
        self._collect(item, processing_event)
        processing_event.collect_events(*also)
        self._notify(self._record(processing_event))

    def process_chunk(
        self, items: Sequence[Envelope[Any] | Quarantine | None], tracking: Tracking
    ) -> None:
        """Act on the records of one partition in order (None: skipped by design) and
        record all their effects with the last record's position in one transaction.
        Each policy sees what the earlier ones changed; if any fails, nothing of the
        chunk is recorded (the caller then goes one record at a time)."""
        likely = [
            aggregate_id
            for item in items
            if isinstance(item, Envelope)
            for aggregate_id in self.likely_read(item)
        ]
        # Most aggregates a policy asks for beyond the likely ones do not exist yet (the
        # notification an event owes, for instance): guess so, run the chunk, then check
        # every guess with one query. If one was wrong, the chunk is run again with real
        # reads; nothing of the first run is kept.
        guess = self.repository.reads_many_at_once
        failure: Exception | None = None
        with self.repository.unit_of_work(guess_absent=guess) as unit:
            self.repository.prefetch(likely)
            try:
                processing_event = self._run_chunk(items, tracking, unit)
            except Exception as error:
                failure = error
        wrong = self.repository.read_many(list(unit.guessed))
        if wrong:
            self.repository.remember_existing(wrong)
            with self.repository.unit_of_work() as unit_again:
                self.repository.prefetch([*likely, *unit.guessed])
                processing_event = self._run_chunk(items, tracking, unit_again)
        elif failure is not None:
            raise failure
        self._notify(self._record(processing_event))

    def _run_chunk(
        self,
        items: Sequence[Envelope[Any] | Quarantine | None],
        tracking: Tracking,
        unit: UnitOfWork,
    ) -> ProcessingEvent[uuid.UUID]:
        processing_event = ProcessingEvent[uuid.UUID](tracking=tracking)
        collected = processing_event.aggregates
        for item in items:
            if item is not None:
                known = len(collected)
                self._collect(item, processing_event)
                # What this item collected anew; the rest came from the unit already.
                unit.aggregates.update(itertools.islice(collected.items(), known, None))
        return processing_event

    def _collect(
        self, item: Envelope[Any] | Quarantine, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        if isinstance(item, Envelope):
            self.policy(item, processing_event)
        else:  # set aside: the record is kept whole instead
            processing_event.collect_events(item.to_aggregate())


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


def conflict_pause(attempt_number: int) -> float:
    """A few milliseconds, growing with the attempts, randomised (full jitter)."""
    return random.uniform(0, min(0.002 * 2**attempt_number, 0.1))  # noqa: S311 - not crypto
