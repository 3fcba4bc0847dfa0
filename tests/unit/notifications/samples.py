"""Integration events as the upstream services publish them, built from the contract's
golden samples with the ids and fields a story needs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, TypeVar

from events.envelope import Envelope

GOLDEN = Path(__file__).resolve().parents[3] / "events" / "golden"

E = TypeVar("E", bound=Envelope)


def upstream(
    model: type[E],
    *,
    aggregate_id: uuid.UUID,
    event_id: uuid.UUID | None = None,
    **payload: Any,
) -> E:
    """A valid `model` event about `aggregate_id`, with `payload` fields changed."""
    data = json.loads((GOLDEN / f"{model.__name__}.v1.json").read_text())
    data.update(
        event_id=str(event_id or uuid.uuid4()),
        aggregate_id=str(aggregate_id),
        correlation_id=str(uuid.uuid4()),
    )
    for field in ("applicant_id", "case_id"):
        if field in data["payload"]:
            data["payload"][field] = str(aggregate_id)
    data["payload"].update(json.loads(json.dumps(payload, default=str)))
    return model.model_validate(data)
