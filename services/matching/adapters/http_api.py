"""Matching's HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Response, status
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from events.registration import CourseCode
from kernel.rules import NotFound
from runtime.http import (
    ERROR_RESPONSES,
    ContinuedFlow,
    application,
    build_app,
    company_or_staff_in,
    require_own_company,
    staff_in,
)
from runtime.identity import Gate
from runtime.privacy import PersonalData
from runtime.privacy_api import RecordsOf, stored_events_of, subject_records_router
from services.matching.adapters import companies
from services.matching.application.service import MatchingApplication
from services.matching.domain.candidate import Candidate, CandidateStatus
from services.matching.domain.company import company_aggregate_id
from services.matching.domain.match import Match, match_id_for
from services.matching.domain.restrictions import restrictions_id_for

Party = Literal["office", "intern", "company"]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchRequest(Strict):
    """A host company's final decision to take a candidate."""

    applicant_id: uuid.UUID
    company_id: uuid.UUID
    course: CourseCode


class AgreementRequest(Strict):
    parties: list[Party] = Field(
        min_length=2,
        max_length=3,
        description="All three, or a pair (online course: one agreement per pair).",
    )
    signed_at: UtcDatetime


class AgreementView(BaseModel):
    agreement_id: uuid.UUID
    parties: list[Party]
    signed_at: datetime


class MatchView(BaseModel):
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: str
    course: str
    confirmed_at: datetime
    agreement: AgreementView | None


class MatchConfirmedResponse(MatchView):
    confirmed: bool = Field(description="False when this decision was already recorded.")


class AgreementSignedResponse(AgreementView):
    match_id: uuid.UUID
    signed: bool = Field(description="False when this signature was already recorded.")


class HoldReason(BaseModel):
    code: str
    text: str


class CandidateView(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    status: CandidateStatus = Field(
        description="`on_hold`: the office is reviewing their eligibility after their "
        "selection; `removed`: the office rejected them."
    )
    passed_screening_at: datetime = Field(description="When the office selected them.")
    match_id: uuid.UUID | None
    course_preferences: list[str]
    period_preferences: list[str]
    internship_interests: list[str]
    languages: dict[str, Any]
    on_hold_because: list[HoldReason] = Field(
        default=[], description="Why the candidate is on hold (screening's reasons)."
    )


class OfferedCandidateView(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    passed_screening_at: datetime


class OfferedPool(BaseModel):
    cohort_id: str
    candidates: list[OfferedCandidateView] = Field(
        description="In the order they entered the pool; never anyone who stopped the "
        "provision of their data to third parties, suspended its use, or was erased, "
        "nor anyone on hold or rejected by the office."
    )


def match_view(match: Match) -> dict[str, Any]:
    agreement = (
        AgreementView(agreement_id=match.agreement_id, **match.agreement)
        if match.agreement is not None
        else None
    )
    return {
        "match_id": match.id,
        "applicant_id": match.applicant_id,
        "company_id": match.company_id,
        "cohort_id": match.cohort_id,
        "course": match.course,
        "confirmed_at": match.confirmed_at,
        "agreement": agreement,
    }


def candidate_view(candidate: Candidate) -> CandidateView:
    return CandidateView(
        applicant_id=candidate.id,
        cohort_id=candidate.cohort_id,
        status=candidate.status,
        passed_screening_at=candidate.passed_screening_at,
        match_id=candidate.match_id,
        course_preferences=candidate.course_preferences,
        period_preferences=candidate.period_preferences,
        internship_interests=candidate.internship_interests,
        languages=candidate.languages,
        on_hold_because=candidate.hold["reasons"] if candidate.hold else [],
    )


App = Annotated[MatchingApplication, Depends(application)]
#: Who may record a company's decision: the office, or a user of that company.
Decider = company_or_staff_in("matcher", "admin")
#: Who may record a signed agreement.
Matcher = staff_in("matcher", "admin")
#: Who may read the pool.
PoolReader = staff_in("matcher", "admin", "auditor")
#: Who may read a match: the office, or a user of the match's company.
MatchReader = company_or_staff_in("matcher", "admin", "auditor")
#: The pool offered to host companies is read by their users: the provision to a third
#: party that a person may stop.
OfferedPoolReader = company_or_staff_in("matcher", "admin", "auditor")
router = APIRouter(responses=ERROR_RESPONSES)


@router.post(
    "/matches",
    status_code=201,
    response_model=MatchConfirmedResponse,
    summary="Record a company's final decision to take a candidate (matcher, admin, or "
    "a user of that company)",
    responses={200: {"model": MatchConfirmedResponse, "description": "Already recorded."}},
)
async def confirm_match(
    body: MatchRequest, app: App, decider: Decider, cid: ContinuedFlow, response: Response
) -> Any:
    require_own_company(decider, body.company_id)
    match, confirmed = await asyncio.to_thread(
        app.confirm_match, body.applicant_id, body.company_id, body.course, decider, cid
    )
    if not confirmed:
        response.status_code = status.HTTP_200_OK
    return MatchConfirmedResponse(**match_view(match), confirmed=confirmed)


@router.post(
    "/matches/{match_id}/agreement",
    status_code=201,
    response_model=AgreementSignedResponse,
    summary="Record the signed agreement of a match (matcher, admin)",
    responses={200: {"model": AgreementSignedResponse, "description": "Already recorded."}},
)
async def sign_agreement(
    match_id: uuid.UUID,
    body: AgreementRequest,
    app: App,
    staff: Matcher,
    cid: ContinuedFlow,
    response: Response,
) -> Any:
    match, signed = await asyncio.to_thread(
        app.sign_agreement, match_id, list(body.parties), body.signed_at, staff, cid
    )
    if not signed:
        response.status_code = status.HTTP_200_OK
    assert match.agreement is not None
    return AgreementSignedResponse(
        agreement_id=match.agreement_id, match_id=match.id, signed=signed, **match.agreement
    )


@router.get(
    "/candidates/{applicant_id}",
    response_model=CandidateView,
    summary="A candidate in the pool, or matched (matcher, admin, auditor)",
)
async def get_candidate(applicant_id: uuid.UUID, app: App, _: PoolReader) -> Any:
    return candidate_view(await asyncio.to_thread(app.get_candidate, applicant_id))


@router.get(
    "/matches/{match_id}",
    response_model=MatchView,
    summary="A match (matcher, admin, auditor, or a user of the match's company)",
)
async def get_match(match_id: uuid.UUID, app: App, reader: MatchReader) -> Any:
    try:
        match = await asyncio.to_thread(app.get_match, match_id)
    except NotFound:
        # A company user gets the same refusal for a match that does not exist as for
        # another company's: they cannot probe for matches.
        require_own_company(reader, None)
        raise
    require_own_company(reader, match.company_id)
    return MatchView(**match_view(match))


@router.get(
    "/cohorts/{cohort_id}/pool",
    response_model=OfferedPool,
    summary="The cohort's candidates offered to host companies, a third party (host "
    "companies' users; matcher, admin, auditor)",
)
async def pool_offered_to_host_companies(
    cohort_id: Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")],
    app: App,
    _: OfferedPoolReader,
) -> Any:
    offered = await asyncio.to_thread(app.pool_offered_to_host_companies, cohort_id)
    return OfferedPool(
        cohort_id=cohort_id,
        candidates=[OfferedCandidateView(**vars(c)) for c in offered],
    )


def records_of(app: MatchingApplication) -> RecordsOf:
    """What matching holds on a data subject: the stored events of their candidacy,
    their match and agreement, and the restrictions they asked for (none of it a
    personal value, theirs all the same); for a host company, its registrations (the
    contacts are opened by the disclosure)."""

    async def held(subject_id: uuid.UUID) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            return {
                "candidate": stored_events_of(app, [subject_id]),
                "match": stored_events_of(app, [match_id_for(subject_id)]),
                "restrictions": stored_events_of(app, [restrictions_id_for(subject_id)]),
                # A host company's contacts have the company as their data subject.
                "company": stored_events_of(app, [company_aggregate_id(subject_id)]),
            }

        return await asyncio.to_thread(read)

    return held


def build_http_api(app: MatchingApplication, gate: Gate, personal_data: PersonalData) -> FastAPI:
    return build_app(
        title="JIP matching",
        description="The candidate pool, host companies' final decisions and the "
        "agreements of the Japan Internship Program (office staff and host companies).",
        routers=[
            router,
            companies.router,
            subject_records_router("matching", records_of(app), personal_data),
        ],
        gate=gate,
        application=app,
        personal_data=personal_data,
    )
