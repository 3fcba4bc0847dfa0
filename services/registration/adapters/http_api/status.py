"""Where an application stands, for the applicant (from the status read model)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from kernel.rules import NotFound
from runtime.http import ERROR_RESPONSES
from services.registration.adapters.http_api.dependencies import ApplicantId, Statuses
from services.registration.adapters.http_api.documents import DocumentView

router = APIRouter(responses=ERROR_RESPONSES)


class StatusResponse(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    stage: Literal["preregistered", "registered", "documents_complete", "erased"]
    outstanding_documents: list[str]
    submitted_documents: list[DocumentView]
    amendments: int
    updated_at: datetime


@router.get(
    "/applicants/me/status",
    response_model=StatusResponse,
    summary="Where the application stands (read model)",
)
async def my_status(applicant_id: ApplicantId, view: Statuses) -> Any:
    row = await view.get(applicant_id)
    if row is None:
        raise NotFound("applicant_id", "the status is not available yet; try again shortly")
    return row
