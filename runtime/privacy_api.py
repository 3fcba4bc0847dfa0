"""What a service holds on a data subject, opened: each service's part of a disclosure.

The privacy policy gives a person the right to see everything the program holds on
them. Every service answers `GET /privacy/subjects/{subject_id}/records` with what it
holds: the stored domain events of the aggregates about the subject (the log, which
is the truth) and its read-model rows, with every sealed value opened through the key
store (or `[erased]`). Registration combines every service's part into the one export a
person or the privacy officer receives.
"""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder

from runtime.http import ERROR_RESPONSES, SubjectOrStaff
from runtime.privacy import PersonalData

RecordsOf = Callable[[uuid.UUID], Awaitable[dict[str, Any]]]


def stored_events_of(app: Any, aggregate_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    """Every stored domain event of these aggregates, oldest first, as the service's
    own store holds it (sealed values still sealed): type, aggregate, version, time and
    the event's fields. Blocking: call it in a thread."""
    events = []
    for aggregate_id in aggregate_ids:
        for stored in app.recorder.select_events(aggregate_id):
            event = app.mapper.to_domain_event(stored)
            fields = {
                name: value
                for name, value in vars(event).items()
                if name not in ("originator_id", "originator_version", "timestamp")
            }
            events.append(
                {
                    "aggregate_id": stored.originator_id,
                    "version": stored.originator_version,
                    "type": stored.topic.rsplit(":", 1)[-1],
                    "at": event.timestamp,
                    "fields": fields,
                }
            )
    return events


def subject_records_router(
    service: str, records_of: RecordsOf, personal_data: PersonalData
) -> APIRouter:
    """The service's part of a disclosure, for the subject themself or the privacy
    officer."""
    router = APIRouter(tags=["privacy"], responses=ERROR_RESPONSES)

    @router.get(
        "/privacy/subjects/{subject_id}/records",
        summary="Everything this service holds on a data subject, opened (privacy officer, "
        "or the subject themself)",
    )
    async def subject_records(subject_id: uuid.UUID, _: SubjectOrStaff) -> dict[str, Any]:
        held = jsonable_encoder(await records_of(subject_id))
        opened = await asyncio.to_thread(personal_data.reveal, held)
        erased = await asyncio.to_thread(personal_data.is_erased, subject_id)
        return {
            "service": service,
            "subject_id": str(subject_id),
            "erased": erased,
            "records": opened,
        }

    return router
