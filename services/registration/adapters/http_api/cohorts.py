"""Cohorts: the office opens each intake with its calendar, courses and rules."""

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from events.registration import CohortId, CohortRules, Course
from runtime.http import ERROR_RESPONSES, NewFlow, staff_in
from services.registration.adapters.http_api.dependencies import App, Strict

router = APIRouter(responses=ERROR_RESPONSES)

#: Who may open a cohort.
Opener = staff_in("admin")


class CohortSpec(Strict):
    cohort_id: CohortId
    applications_open_at: AwareDatetime
    applications_close_at: AwareDatetime
    age_reference_date: date
    min_age: int = Field(ge=15, le=99)
    max_age: int = Field(ge=15, le=99)
    results_by: date
    courses: list[Course] = Field(min_length=1)
    rules: CohortRules = CohortRules()


class CohortOpenedResponse(BaseModel):
    cohort_id: str
    opened: bool = Field(description="False when the cohort was already open (no change).")


@router.post(
    "/cohorts",
    status_code=201,
    response_model=CohortOpenedResponse,
    summary="Open a cohort with its calendar, courses and rules (admin)",
)
async def open_cohort(spec: CohortSpec, app: App, staff: Opener, cid: NewFlow) -> Any:
    data = spec.model_dump(mode="python")
    data["courses"] = [c.model_dump(mode="json") for c in spec.courses]
    data["rules"] = spec.rules.model_dump(mode="json")
    opened = await asyncio.to_thread(app.open_cohort, data, staff, cid)
    return CohortOpenedResponse(cohort_id=spec.cohort_id, opened=opened)
