"""The base of every service: an event-sourced application whose recorder also keeps
tracking positions (of the Kafka partitions it consumes, and of its own log)."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    StoredEvent,
    Tracking,
    Transcoding,
)
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from events.envelope import Envelope

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


class UnitOfWorkRepository(Repository[uuid.UUID]):
    """The repository, which during a unit of work (`ServiceApplication.unit_of_work`,
    in the calling thread only) answers from the aggregates read or changed earlier in
    that unit: the policies of a chunk of records then see each other's effects before
    they are recorded together. Other threads (HTTP commands) never see them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    @property
    def unit(self) -> dict[uuid.UUID, Any] | None:
        unit: dict[uuid.UUID, Any] | None = getattr(self._local, "unit", None)
        return unit

    @contextmanager
    def unit_of_work(self) -> Iterator[dict[uuid.UUID, Any]]:
        unit: dict[uuid.UUID, Any] = {}
        self._local.unit = unit
        try:
            yield unit
        finally:
            self._local.unit = None

    def prefetch(self, aggregate_ids: Iterable[uuid.UUID]) -> None:
        """Read the aggregates of `aggregate_ids` into the current unit of work with one
        query, instead of one query each when the policies ask for them (most ask for
        the aggregate the consumed event is about). Only on PostgreSQL, without
        snapshots or cache; elsewhere each is read when asked for, as usual."""
        unit = self.unit
        recorder = self.event_store.recorder
        if unit is None or self.snapshot_store is not None or self.cache is not None:
            return
        if not isinstance(recorder, PostgresAggregateRecorder):
            return
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in unit]
        if not wanted:
            return
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        stored: dict[uuid.UUID, list[StoredEvent]] = {}
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (wanted,), prepare=True)
            for row in curs.fetchall():
                stored.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
                )
        for aggregate_id in wanted:
            events = stored.get(aggregate_id)
            unit[aggregate_id] = (
                project_aggregate(None, map(self.event_store.mapper.to_domain_event, events))
                if events
                else None
            )

    def get(self, aggregate_id: uuid.UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        unit = self.unit
        if unit is None or version is not None or kwargs:
            return super().get(aggregate_id, version=version, **kwargs)
        if aggregate_id in unit:
            known = unit[aggregate_id]
            if known is None:
                raise AggregateNotFoundError(aggregate_id)
            return known
        try:
            aggregate: Any = super().get(aggregate_id)
            unit[aggregate_id] = aggregate
        except AggregateNotFoundError:
            unit[aggregate_id] = None  # a later record may create it; until then, none
            raise
        return aggregate


class ServiceApplication(Application[uuid.UUID]):
    """An event-sourced application whose recorder also keeps tracking positions: of
    the Kafka partitions it consumes (its inbox) and of its own log (its relay)."""

    recorder: ProcessRecorder
    repository: UnitOfWorkRepository

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

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

    def policy(self, envelope: Envelope[Any], processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """React to a consumed integration event by collecting new domain events on
        `processing_event`. Services that consume override this; it must be idempotent
        by natural key, because a producer may publish the same event twice."""

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
        processing_event = ProcessingEvent[uuid.UUID](tracking=tracking)
        with self.repository.unit_of_work() as unit:
            self.repository.prefetch(
                aggregate_id
                for item in items
                if isinstance(item, Envelope)
                for aggregate_id in self.likely_read(item)
            )
            collected = processing_event.aggregates
            for item in items:
                if item is not None:
                    known = len(collected)
                    self._collect(item, processing_event)
                    # What this item collected anew; the rest came from the unit already.
                    unit.update(itertools.islice(collected.items(), known, None))
        self._notify(self._record(processing_event))

    def _collect(
        self, item: Envelope[Any] | Quarantine, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        if isinstance(item, Envelope):
            self.policy(item, processing_event)
        else:  # set aside: the record is kept whole instead
            processing_event.collect_events(item.to_aggregate())
