"""The one JSON envelope that carries every JIP event on Kafka (contract v1, see
`events/CHANGELOG.md`)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

#: Namespace of the deterministic ids derived from stored domain events. The relay may
#: publish an event twice (crash after send, before it records its position); the same
#: stored event always yields the same `event_id`, which is what consumers deduplicate on.
JIP_NAMESPACE: uuid.UUID = uuid.UUID("7f8c3b4e-4a55-5c1f-9f0e-6a1d2b3c4d5e")

Producer = Literal["registration", "screening", "matching", "notifications"]


#: The largest integer every JSON reader represents exactly (IEEE 754 doubles), and so
#: the largest the canonical form of the chain (`events.chain`) admits: every integer of
#: the contract is bounded below it, so that any event a producer can store can also be
#: published.
MAX_SAFE_INTEGER = 2**53 - 1


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _rfc3339(value: object) -> object:
    # Read the text here rather than let pydantic do it: even in strict mode pydantic
    # reads "3" as 3 seconds after the epoch, and in lax mode a number too; the
    # contract (and its JSON Schema, `format: date-time`) has only RFC 3339 strings.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("an RFC 3339 date-time is required, e.g. 2025-06-01T09:30:00Z")
    return datetime.fromisoformat(value.upper())


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("a date is required as YYYY-MM-DD")
    return date.fromisoformat(value)


#: RFC 3339 timestamp, always normalised to UTC and written with a `Z`.
UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_to_utc),
    PlainSerializer(lambda v: v.isoformat().replace("+00:00", "Z"), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

#: A calendar date, written `YYYY-MM-DD`.
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Contract(BaseModel):
    """Base of every contract model: immutable, and strict about unknown fields so that
    a typo or an undeclared change is an error rather than silently dropped data."""

    model_config = ConfigDict(frozen=True, extra="forbid")


ActorKind = Literal["applicant", "staff", "company", "system"]
StaffRole = Literal["screener", "interviewer", "matcher", "privacy_officer", "auditor", "admin"]


class Actor(Contract):
    """Who caused the event: the applicant themself, a member of the program office
    (with their role), a user of a host company (with the company), or the system (a
    service reacting to another event, then `id` is the service's name)."""

    kind: ActorKind
    id: str = Field(min_length=1, max_length=100, description="The person's or service's id.")
    role: StaffRole | None = Field(
        default=None, description="The office role the staff member acted in (staff only)."
    )
    company_id: uuid.UUID | None = Field(
        default=None, description="The company the user acted for (company only)."
    )

    @model_validator(mode="after")
    def _role_and_company_fit_the_kind(self) -> Actor:
        if self.role is not None and self.kind != "staff":
            raise ValueError("only a staff actor has a role")
        if self.company_id is not None and self.kind != "company":
            raise ValueError("only a company actor has a company_id")
        return self

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        # What the validator above enforces, said in the schema too (JSON Schema 2020-12).
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "properties": {"role": {"type": "string"}},
                        "required": ["role"],
                    },
                    "then": {"properties": {"kind": {"const": "staff"}}},
                },
                {
                    "if": {
                        "properties": {"company_id": {"type": "string"}},
                        "required": ["company_id"],
                    },
                    "then": {"properties": {"kind": {"const": "company"}}},
                },
            ]
        },
    )


class EnvelopeHeader(Contract):
    """The envelope without its payload: enough to route, deduplicate and trace."""

    model_config = ConfigDict(frozen=True, extra="allow")

    event_id: uuid.UUID = Field(
        description="Unique id of this event across the whole backbone; the deduplication "
        "key. Derived from (producer, event_type, aggregate_id, aggregate_version), so a "
        "re-published event keeps it."
    )
    event_type: str = Field(description="Name of the event, e.g. ApplicantRegistered.")
    schema_version: int = Field(ge=1, le=999, description="Version of this event type's payload.")
    occurred_at: UtcDatetime = Field(description="When it happened (RFC 3339, UTC).")
    producer: Producer = Field(description="The service that produced the event.")
    aggregate_id: uuid.UUID = Field(description="The entity the event is about; the Kafka key.")
    aggregate_version: int = Field(
        ge=1,
        le=MAX_SAFE_INTEGER,
        description="Position of this event in its aggregate's own sequence (with gaps: "
        "the producer's internal events are not published).",
    )
    correlation_id: uuid.UUID = Field(
        description="Shared by every event of one business flow, across services."
    )
    causation_id: uuid.UUID | None = Field(
        description="The event (or request) that directly caused this one."
    )


PayloadT = TypeVar("PayloadT")


class Envelope(EnvelopeHeader, Generic[PayloadT]):
    """A complete event. Concrete events fix `event_type`, `schema_version` and
    `producer` as literals and the payload's model
    (`class ApplicantRegistered(Envelope[ApplicantRegisteredPayload])`);
    `Envelope[Any]` is what a generic consumer sees.

    `actor` says who caused the event; `previous_hash` chains it to the previous
    published event of the same aggregate from the same producer (`events/chain.py`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor = Field(description="Who caused the event.")
    previous_hash: Sha256Hex | None = Field(
        description="SHA-256 (hex) of the canonical form of the previous published event "
        "of the same aggregate from the same producer; null for its first. See "
        "events/chain.py."
    )
    payload: PayloadT


def identity_of(model: type[Envelope[Any]]) -> tuple[str, int, str]:
    """(event_type, schema_version, producer) of a concrete event model."""
    fields = model.model_fields
    return (
        get_args(fields["event_type"].annotation)[0],
        get_args(fields["schema_version"].annotation)[0],
        get_args(fields["producer"].annotation)[0],
    )


def derive_event_id(
    producer: str, event_type: str, aggregate_id: uuid.UUID, aggregate_version: int
) -> uuid.UUID:
    """The event id of the `aggregate_version`-th event of an aggregate of `producer`.

    Unique across the backbone: within one producer's event store, (aggregate id,
    version) names exactly one stored event, and several producers do reuse the same
    aggregate ids (a screening case has its applicant's id). Stable across
    re-publication, so consumers can deduplicate on it. Anyone can recompute it:
    uuid5(JIP_NAMESPACE, "<producer>/<event_type>/<aggregate_id>/<aggregate_version>").
    """
    name = f"{producer}/{event_type}/{aggregate_id}/{aggregate_version}"
    return uuid.uuid5(JIP_NAMESPACE, name)
