"""Publish a service's stored events to Kafka by following its notification log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from events import codec
from events.chain import event_hash
from events.envelope import Envelope, derive_event_id, identity_of
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
    re-publishes events with the same `event_id`, which consumers deduplicate: the
    re-published envelopes are byte-identical, `previous_hash` included.
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
        cache_size: int = 100_000,
    ) -> None:
        super().__init__(
            app, name=f"relay:{topic}", batch_size=batch_size, idle_seconds=idle_seconds
        )
        self.topic = topic
        self.translate = translate
        self.send = send
        #: aggregate id -> (version, hash) of the last envelope published, most recent
        #: last; bounded, since a miss only costs one read of that aggregate's events.
        self._last_published: OrderedDict[uuid.UUID, tuple[int, str]] = OrderedDict()
        self.cache_size = cache_size
        self._handled_up_to: int | None = None

    async def load_position(self) -> int:
        position = await super().load_position()
        if position != self._handled_up_to:
            # Someone else moved the position (another instance relayed meanwhile) or
            # the last batch was not recorded: what this relay remembers may be stale.
            self._last_published.clear()
        return position

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        pending = []
        for domain_event, _notification_id in batch:
            envelope = self.translate(domain_event)
            if envelope is None:
                continue
            envelope = await self._chained(envelope)
            pending.append(
                await self.send(
                    self.topic, codec.key(envelope), codec.encode(envelope), codec.headers(envelope)
                )
            )
        if pending:
            await asyncio.gather(*pending)
            log.info("relayed %d events to %s", len(pending), self.topic)
        self._handled_up_to = batch[-1][1]

    async def _chained(self, envelope: Envelope[Any]) -> Envelope[Any]:
        """The envelope with `previous_hash` set: the hash of the aggregate's previous
        published envelope. Usually known from the last one this relay sent; otherwise
        (first sight of the aggregate since start, or a re-publication after a crash)
        recomputed from the store, since translation is deterministic: the same stored
        events give byte-identical envelopes, hence the same hashes."""
        aggregate_id, version = envelope.aggregate_id, envelope.aggregate_version
        last = self._last_published.get(aggregate_id)
        previous_hash: str | None
        if last is not None and last[0] < version:
            previous_hash = last[1]
        elif version == 1:
            previous_hash = None  # nothing can come before an aggregate's first event
        else:
            previous_hash = await self.in_thread(self._hash_before, aggregate_id, version)
        chained, digest = link(envelope, previous_hash)
        self._remember(aggregate_id, version, digest)
        return chained

    def _hash_before(self, aggregate_id: uuid.UUID, version: int) -> str | None:
        """Replay the aggregate's stored events before `version` through the translator."""
        previous_hash: str | None = None
        for stored in self.app.events.get(aggregate_id, lte=version - 1):
            earlier = self.translate(stored)
            if earlier is not None:
                _, previous_hash = link(earlier, previous_hash)
        return previous_hash

    def _remember(self, aggregate_id: uuid.UUID, version: int, digest: str) -> None:
        self._last_published[aggregate_id] = (version, digest)
        self._last_published.move_to_end(aggregate_id)
        if len(self._last_published) > self.cache_size:
            self._last_published.popitem(last=False)


def link(envelope: Envelope[Any], previous_hash: str | None) -> tuple[Envelope[Any], str]:
    """The envelope chained to its aggregate's previous published one, and its own hash
    (what the next one will carry)."""
    chained = envelope.model_copy(update={"previous_hash": previous_hash})
    return chained, event_hash(chained.model_dump(mode="json"))


def envelope_for(
    model: type[Envelope[Any]], domain_event: Any, payload: dict[str, Any]
) -> Envelope[Any]:
    """The public envelope of a stored domain event, before the relay chains it
    (`previous_hash` is set by `KafkaRelay`).

    Every service's domain events carry `correlation_id` and `causation_id`, and may
    carry `actor`, a dict {"kind", "id"[, "role"][, "company_id"]} saying who caused
    them; without one the producing service itself is the actor. Id, version and time
    come from eventsourcing: (originator id, version) names one stored event in the
    producer's store, so with the producer and event type it gives a unique event id.
    """
    event_type, schema_version, producer = identity_of(model)
    actor = getattr(domain_event, "actor", None) or {"kind": "system", "id": producer}
    return model.model_validate(
        {
            "event_id": derive_event_id(
                producer, event_type, domain_event.originator_id, domain_event.originator_version
            ),
            "event_type": event_type,
            "schema_version": schema_version,
            "occurred_at": domain_event.timestamp,
            "producer": producer,
            "aggregate_id": domain_event.originator_id,
            "aggregate_version": domain_event.originator_version,
            "correlation_id": domain_event.correlation_id,
            "causation_id": domain_event.causation_id,
            "actor": actor,
            "previous_hash": None,
            "payload": payload,
        }
    )
