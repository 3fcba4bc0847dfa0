"""How an envelope is written to and read from a Kafka record."""

from __future__ import annotations

from typing import Any

from events.envelope import Envelope


def encode(event: Envelope[Any]) -> bytes:
    return event.model_dump_json().encode()


def headers(event: Envelope[Any]) -> dict[str, str]:
    """Kafka headers that let a consumer route or skip a record without parsing it."""
    return {
        "content-type": "application/json",
        "event_type": event.event_type,
        "schema_version": str(event.schema_version),
        "event_id": str(event.event_id),
        "correlation_id": str(event.correlation_id),
    }


def key(event: Envelope[Any]) -> bytes:
    """Records are keyed by aggregate id: one aggregate's events stay in order."""
    return str(event.aggregate_id).encode()
