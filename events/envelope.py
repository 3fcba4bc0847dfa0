"""The one JSON envelope that carries every JIP event on Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

#: Namespace of the deterministic ids derived from stored domain events. The relay may
#: publish an event twice (crash after send, before it records its position); the same
#: stored event always yields the same `event_id`, which is what consumers deduplicate on.
JIP_NAMESPACE: uuid.UUID = uuid.UUID("7f8c3b4e-4a55-5c1f-9f0e-6a1d2b3c4d5e")

Producer = Literal["registration", "screening", "matching", "notifications"]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: RFC 3339 timestamp, always normalised to UTC and written with a `Z`.
UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(lambda v: v.isoformat().replace("+00:00", "Z"), return_type=str),
]


class Contract(BaseModel):
    """Base of every contract model: immutable, and strict about unknown fields so that
    a typo or an undeclared change is an error rather than silently dropped data."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvelopeHeader(Contract):
    """The envelope without its payload: enough to route, deduplicate and trace."""

    model_config = ConfigDict(frozen=True, extra="allow")

    event_id: uuid.UUID = Field(description="Unique id of this event; the deduplication key.")
    event_type: str = Field(description="Name of the event, e.g. ApplicantRegistered.")
    schema_version: int = Field(ge=1, description="Version of this event type's payload.")
    occurred_at: UtcDatetime = Field(description="When it happened (RFC 3339, UTC).")
    producer: Producer = Field(description="The service that produced the event.")
    aggregate_id: uuid.UUID = Field(description="The entity the event is about; the Kafka key.")
    aggregate_version: int = Field(
        ge=1, description="Position of this event in its aggregate's own sequence."
    )
    correlation_id: uuid.UUID = Field(
        description="Shared by every event of one business flow, across services."
    )
    causation_id: uuid.UUID | None = Field(
        description="The event (or request) that directly caused this one."
    )


PayloadT = TypeVar("PayloadT")


class Envelope(EnvelopeHeader, Generic[PayloadT]):
    """A complete event. Concrete events fix `event_type`, `schema_version` and the
    payload's model (`class ApplicantRegistered(Envelope[ApplicantRegisteredPayload])`);
    `Envelope[Any]` is what a generic consumer sees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payload: PayloadT


def derive_event_id(aggregate_id: uuid.UUID, aggregate_version: int) -> uuid.UUID:
    """The event id of the `aggregate_version`-th event of an aggregate: stable across
    re-publication, so consumers can deduplicate on it."""
    return uuid.uuid5(JIP_NAMESPACE, f"{aggregate_id}:{aggregate_version}")
