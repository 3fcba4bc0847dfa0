"""The audit application: receives every integration event of every topic and keeps it,
as published, in its own event store (one `ReceivedEvent` per event id), with the
position of the Kafka record in the same transaction (the common inbox).

Unlike the other services it takes every record: an event type this version of the
contract does not know, or a known one whose payload it does not read (a newer
producer's field, a forgery's), is kept too (read as a generic envelope), because an
auditor must see everything the log holds; only what is not an envelope at all is set
aside (the inbox's quarantine, with its reason).

What is kept is the record's JSON as it was published, not the envelope as this
contract reads it back: a field this version does not know is kept, and the hash is
the one the producer's next event names (`events.chain.event_hash`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import ProcessingEvent
from pydantic import ValidationError

from events.chain import event_hash
from events.envelope import Envelope
from runtime.application import ServiceApplication
from runtime.inbox import (
    Inbox,
    Outcome,
    QuarantinedMessage,
    ReceivedRecord,
    Status,
    Triage,
    describe_headers,
    describe_invalid,
)
from services.audit.domain.received import ReceivedEvent


class AuditApplication(ServiceApplication):
    name = "audit"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Where each envelope being processed was read (by the object's identity, the
        #: envelope held so that the identity is not reused): the inbox's triage notes
        #: it, the policy reads it (maybe twice: a chunk may be run again), the inbox
        #: forgets it after the records. A chunk's policies share one tracking position
        #: (its last record's), so each record's own position comes this way.
        self.read_at: dict[int, tuple[Envelope[Any], ReceivedRecord]] = {}

    @singledispatchmethod
    def policy(self, envelope: Envelope[Any], processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Every integration event is kept (see `when_any_event_then_keep_it`)."""

    @policy.register
    def when_any_event_then_keep_it(
        self, envelope: Envelope, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        _, record = self.read_at[id(envelope)]
        published = json.loads(record.value)
        digest = event_hash(published)
        kept = self.find(envelope.event_id, ReceivedEvent)
        if kept is None:
            kept = ReceivedEvent(
                event_id=envelope.event_id,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                envelope=published,
                event_hash=digest,
            )
        else:
            kept.receive_again(record.topic, record.partition, record.offset, published, digest)
        processing_event.collect_events(kept)

    def likely_read(self, envelope: Envelope[Any]) -> Any:
        yield envelope.event_id


class AuditInbox(Inbox):
    """The common inbox, keeping every envelope (known event type or not) and noting
    where each was read for the policy."""

    app: AuditApplication

    def triage(self, record: ReceivedRecord) -> Triage:
        problem = describe_headers(record.headers)
        if problem is not None:
            return self._set_aside_for(record, problem)
        # Read as a generic envelope, whatever its type and payload (a newer producer's,
        # or one that breaks the contract): the log holds it, so the auditor sees it. The
        # policy keeps the record's own JSON, so the typed payload is never needed.
        try:
            envelope = Envelope[dict[str, Any]].model_validate_json(record.value, strict=True)
        except ValidationError as error:
            return self._set_aside_for(record, describe_invalid(error))
        self.app.read_at[id(envelope)] = (envelope, record)
        return envelope

    def receive(self, record: ReceivedRecord) -> Outcome:
        try:
            return super().receive(record)
        finally:
            self.app.read_at.clear()

    def receive_batch(self, records: Sequence[ReceivedRecord]) -> list[Outcome]:
        try:
            return super().receive_batch(records)
        finally:
            self.app.read_at.clear()

    def replay(self, message: QuarantinedMessage) -> Status:
        try:
            return super().replay(message)
        finally:
            self.app.read_at.clear()
