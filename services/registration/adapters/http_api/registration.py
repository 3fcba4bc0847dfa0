"""An applicant's way in: pre-registration of an address, the registration link sent to
it (again, if lost), and the full registration through that link."""

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, EmailStr, Field

from events.registration import (
    CohortId,
    CourseCode,
    Education,
    LanguageProficiency,
    PreferredLanguage,
)
from runtime.http import ERROR_RESPONSES, NewFlow
from services.registration.adapters.http_api.dependencies import Accepted, App, Country, Strict

router = APIRouter(responses=ERROR_RESPONSES)


class PreregistrationRequest(Strict):
    email: EmailStr


class RegistrationForm(Strict):
    token: str = Field(min_length=10, max_length=200, description="From the registration link.")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    nationality: Country
    country_of_residence: Country
    education: Education
    languages: LanguageProficiency
    course_preferences: list[CourseCode] = Field(min_length=1, max_length=5)
    period_preferences: list[Annotated[str, Field(max_length=100)]] = Field(
        default=[], max_length=10
    )
    internship_interests: list[Annotated[str, Field(max_length=200)]] = Field(
        default=[], max_length=20
    )
    previous_participation_years: list[Annotated[int, Field(ge=2000, le=2100)]] = Field(default=[])
    declares_no_final_job_commitment: bool
    privacy_policy_consent: bool
    language: PreferredLanguage = Field(
        default="en",
        description="The language the program's e-mails are written in: `en` or `ja`.",
    )


class CourseView(BaseModel):
    code: str
    name: str
    mode: str


class RegistrationLinkView(BaseModel):
    cohort_id: str
    courses: list[CourseView] = Field(description="The courses to choose preferences from.")
    link_expires_at: datetime
    applications_close_at: datetime
    next_step: str = Field(description="How to complete the registration with this link.")


class RegistrationResponse(BaseModel):
    applicant_id: uuid.UUID
    access_token: str = Field(
        description="Bearer token (JWT) for the applicant's own endpoints, in every service."
    )
    outstanding_documents: list[str]


@router.post(
    "/cohorts/{cohort_id}/preregistrations",
    status_code=202,
    response_model=Accepted,
    summary="Pre-register an e-mail address",
)
async def preregister(
    cohort_id: CohortId, body: PreregistrationRequest, app: App, cid: NewFlow
) -> Any:
    await asyncio.to_thread(app.preregister, cohort_id, str(body.email), cid)
    # The same answer whether the address was new or known: the endpoint must not
    # reveal who applied.
    return Accepted(detail="A registration link has been sent to this address.")


@router.post(
    "/cohorts/{cohort_id}/registration-links",
    status_code=202,
    response_model=Accepted,
    summary="Send a new registration link",
)
async def reissue_link(
    cohort_id: CohortId, body: PreregistrationRequest, app: App, cid: NewFlow
) -> Any:
    await asyncio.to_thread(app.reissue_registration_link, cohort_id, str(body.email), cid)
    return Accepted(detail="If this address is pre-registered, a new link has been sent.")


@router.get(
    "/registration",
    response_model=RegistrationLinkView,
    summary="Follow a registration link: check it and see the cohort's form",
)
async def follow_link(token: Annotated[str, Query(min_length=10, max_length=200)], app: App) -> Any:
    applicant, cohort = await asyncio.to_thread(app.open_registration_link, token)
    return RegistrationLinkView(
        cohort_id=cohort.cohort_id,
        courses=[
            CourseView(code=c["code"], name=c.get("name", c["code"]), mode=c.get("mode", ""))
            for c in cohort.courses
        ],
        link_expires_at=applicant.link_expires_at,
        applications_close_at=cohort.applications_close_at,
        next_step="POST /registrations with this token and the registration form",
    )


@router.post(
    "/registrations",
    status_code=201,
    response_model=RegistrationResponse,
    summary="Complete the full registration through the link's token",
)
async def register(form: RegistrationForm, app: App, cid: NewFlow) -> Any:
    details = form.model_dump(mode="json", exclude={"token"})
    applicant, _ = await asyncio.to_thread(app.register, form.token, details, cid)
    return RegistrationResponse(
        applicant_id=applicant.id,
        access_token=app.access_token(applicant.id),
        outstanding_documents=applicant.outstanding_documents(),
    )
