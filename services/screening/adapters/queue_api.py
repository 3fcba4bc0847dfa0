"""`GET /queue`: the office's screening queue, read from its read model (`queue_view`)."""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from kernel.rules import RuleViolation
from runtime.http import ERROR_RESPONSES, staff_in
from services.screening.adapters.queue_view import Outcome, QueueView, WaitingFor

#: Who may read the queue.
QueueReader = staff_in("screener", "interviewer", "admin", "auditor")


async def _queue_view(request: Request) -> QueueView:
    view: QueueView = request.app.state.queue
    return view


Queue = Annotated[QueueView, Depends(_queue_view)]


class QueueEntry(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    waiting_for: WaitingFor = Field(
        description="The step the case waits for; `none` when screening ended (`outcome`)."
    )
    outcome: Outcome | None = Field(description="How screening ended, when it did.")
    since: datetime = Field(description="When the case came to this step.")
    rejection_stage: str | None = Field(
        description="The stage at which the applicant was rejected or failed."
    )
    version: int = Field(description="The case's version the entry reflects.")


class QueuePage(BaseModel):
    items: list[QueueEntry]
    next: str | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


def cursor_of(since: datetime, applicant_id: uuid.UUID) -> str:
    return f"{since.isoformat()}_{applicant_id}"


def parse_cursor(after: str) -> tuple[datetime, uuid.UUID]:
    since, _, applicant_id = after.rpartition("_")
    try:
        moment = datetime.fromisoformat(since)
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment, uuid.UUID(applicant_id)
    except ValueError:
        raise RuleViolation(
            "after", "not a position this API gave: pass the `next` of the previous page"
        ) from None


router = APIRouter(responses=ERROR_RESPONSES)


@router.get(
    "/queue",
    response_model=QueuePage,
    summary="The office's screening queue (screener, interviewer, admin, auditor)",
)
async def read_queue(
    queue: Queue,
    _: QueueReader,
    cohort_id: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    waiting_for: WaitingFor | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> Any:
    """Who waits for which step, longest waiting first, by cohort and step."""
    page = await queue.page(
        cohort_id=cohort_id,
        waiting_for=waiting_for,
        limit=limit,
        after=parse_cursor(after) if after is not None else None,
    )
    return QueuePage(
        items=[QueueEntry.model_validate(r.shown()) for r in page.rows],
        next=cursor_of(*page.next_after) if page.next_after else None,
    )
