"""Cohorts: the office opens each intake with its calendar, courses and rules, and
revises its rules as new versions; anyone may read a cohort's terms (applicants read
them before they apply)."""

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from events.registration import (
    HIGHER_EDUCATION_LEVELS,
    CohortId,
    CohortRules,
    Course,
    EducationLevel,
    FiscalYearRange,
    InterviewScorecards,
    LanguageRequirement,
    RuleSetId,
)
from runtime.http import ERROR_RESPONSES, NewFlow, staff_in
from services.registration.adapters.http_api.dependencies import App, Country, Strict

router = APIRouter(responses=ERROR_RESPONSES)

#: Who may open a cohort and revise its rules.
Opener = staff_in("admin")


class RulesSpec(Strict):
    """A cohort's eligibility rules as the office gives them: `recipient_countries` is
    never typed, registration fills it from the DAC List edition named."""

    rule_set_id: RuleSetId | None = Field(
        default=None, description="Defaults to 'jip-' and the cohort id, e.g. 'jip-fy2025'."
    )
    rule_set_version: int = Field(default=1, ge=1)
    recipient_list: str | None = Field(
        default=None,
        description="The DAC List edition, e.g. 'oecd-dac-2024-2025'; defaults to the one "
        "in force for the cohort's fiscal year.",
    )
    excluded_nationalities: list[Country] = Field(default_factory=list)
    residents_of_japan_may_apply: bool = False
    language: LanguageRequirement = Field(default_factory=LanguageRequirement)
    accepted_education_levels: list[EducationLevel] = Field(
        default_factory=lambda: list(HIGHER_EDUCATION_LEVELS), min_length=1
    )
    earlier_participation_excluded: FiscalYearRange | None = None
    interviews: InterviewScorecards = Field(default_factory=InterviewScorecards)

    def given(self) -> dict[str, Any]:
        """The rules as JSON, without the defaults registration fills in itself."""
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if v is not None or k not in _FILLED_IN}


_FILLED_IN = ("rule_set_id", "recipient_list")


class RulesRevision(RulesSpec):
    rule_set_version: int = Field(ge=1, description="The current version plus one.")


class CohortSpec(Strict):
    cohort_id: CohortId
    applications_open_at: AwareDatetime
    applications_close_at: AwareDatetime
    age_reference_date: date
    min_age: int = Field(ge=15, le=99)
    max_age: int = Field(ge=15, le=99)
    results_by: date
    courses: list[Course] = Field(min_length=1)
    rules: RulesSpec = Field(default_factory=RulesSpec)


class CohortOpenedResponse(BaseModel):
    cohort_id: str
    opened: bool = Field(description="False when the cohort was already open (no change).")


class CohortTerms(BaseModel):
    """A cohort as opened, with the rule set in force (its latest version)."""

    cohort_id: str
    applications_open_at: AwareDatetime
    applications_close_at: AwareDatetime
    age_reference_date: date
    min_age: int
    max_age: int
    results_by: date
    courses: list[Course]
    rules: CohortRules


@router.post(
    "/cohorts",
    status_code=201,
    response_model=CohortOpenedResponse,
    summary="Open a cohort with its calendar, courses and rules (admin)",
)
async def open_cohort(spec: CohortSpec, app: App, staff: Opener, cid: NewFlow) -> Any:
    data = spec.model_dump(mode="python")
    data["courses"] = [c.model_dump(mode="json") for c in spec.courses]
    data["rules"] = spec.rules.given()
    opened = await asyncio.to_thread(app.open_cohort, data, staff, cid)
    return CohortOpenedResponse(cohort_id=spec.cohort_id, opened=opened)


@router.get(
    "/cohorts/{cohort_id}",
    response_model=CohortTerms,
    summary="A cohort's terms and its rules in force (public: applicants read them)",
)
async def read_cohort(cohort_id: CohortId, app: App) -> Any:
    cohort = await asyncio.to_thread(app.get_cohort, cohort_id)
    return CohortTerms(
        cohort_id=cohort.cohort_id,
        applications_open_at=cohort.applications_open_at,
        applications_close_at=cohort.applications_close_at,
        age_reference_date=cohort.age_reference_date,
        min_age=cohort.min_age,
        max_age=cohort.max_age,
        results_by=cohort.results_by,
        courses=cohort.courses,
        rules=cohort.rules,
    )


@router.post(
    "/cohorts/{cohort_id}/rules",
    status_code=201,
    response_model=CohortRules,
    summary="Revise a cohort's rules: the next version of its rule set (admin)",
)
async def revise_rules(
    cohort_id: CohortId, body: RulesRevision, app: App, staff: Opener, cid: NewFlow
) -> Any:
    await asyncio.to_thread(app.revise_cohort_rules, cohort_id, body.given(), staff, cid)
    return (await asyncio.to_thread(app.get_cohort, cohort_id)).rules
