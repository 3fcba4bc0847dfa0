"""Screening's HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from events.screening import InterviewLanguage, InterviewStage
from runtime.http import ERROR_RESPONSES, ContinuedFlow, application, build_app, staff_in
from runtime.identity import Gate
from runtime.privacy import PersonalData
from runtime.privacy_api import RecordsOf, stored_events_of, subject_records_router
from services.screening.application.service import ScreeningApplication
from services.screening.domain.case import ScreeningCase


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


class InterviewResult(Strict):
    stage: InterviewStage
    language: InterviewLanguage = Field(
        description="First interview: local, english or japanese; second: english or japanese."
    )
    passed: bool
    interviewer: str = Field(min_length=1, max_length=100, description="Staff member's id.")
    interviewed_at: UtcDatetime


class InterviewRecorded(BaseModel):
    case_id: uuid.UUID
    stage: str
    passed: bool
    recorded: bool = Field(description="False when this result was already recorded.")
    status: str = Field(description="The case's status after the result.")


class RuleCheckView(BaseModel):
    rule: str
    version: int = Field(description="The version of the rule's wording.")
    saw: Any = Field(description="The value the rule checked.")
    passed: bool
    reason: str | None


class RuleSetView(BaseModel):
    id: str
    version: int


class EligibilityView(BaseModel):
    result: Literal["eligible", "ineligible", "implausible"]
    rule_set: RuleSetView
    checks: list[RuleCheckView] = Field(description="Every rule checked, by version.")
    trigger: str = Field(description="What made screening assess the applicant last.")


class ReasonView(BaseModel):
    code: str
    text: str


class RejectionView(BaseModel):
    stage: str
    reasons: list[ReasonView]


class ReferralView(BaseModel):
    reasons: list[ReasonView]


class DocumentsView(BaseModel):
    received: list[str] = Field(description="Kinds of the documents received so far.")
    outstanding: list[str] | None = Field(description="None until the first submission.")
    complete: bool


class InterviewView(BaseModel):
    stage: str
    language: str
    passed: bool
    interviewer: str
    interviewed_at: datetime


class AmendmentView(BaseModel):
    changed_fields: list[str]
    reason: str = Field(description="Opened for the reader; `[erased]` once the applicant is.")
    amended_by: str


class CaseView(BaseModel):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: str
    status: Literal[
        "awaiting_rules",
        "office_review",
        "screening",
        "awaiting_selection",
        "selected",
        "referred",
        "rejected",
        "failed",
    ]
    needs_review: bool = Field(description="Details were amended since the last decision.")
    eligibility: EligibilityView | None = Field(
        description="None until screening knows the cohort's rules (assessed on arrival)."
    )
    documents: DocumentsView
    interviews: list[InterviewView]
    amendments: list[AmendmentView]
    rejection: RejectionView | None = Field(description="Why the applicant was turned down.")
    selected: bool
    referral: ReferralView | None = Field(
        description="Selected, then found ineligible: why the office must decide."
    )


def case_view(case: ScreeningCase, personal_data: PersonalData) -> CaseView:
    """The case as staff read it: the amendments' reasons (kept sealed) opened now."""
    return CaseView(
        case_id=case.id,
        applicant_id=case.applicant_id,
        cohort_id=case.cohort_id,
        status=case.status,  # type: ignore[arg-type]
        needs_review=case.needs_review,
        eligibility=EligibilityView.model_validate(case.eligibility) if case.eligibility else None,
        documents=DocumentsView(
            received=sorted({d["kind"] for d in case.documents}),
            outstanding=case.outstanding_documents,
            complete=case.documents_complete,
        ),
        interviews=[InterviewView.model_validate(i) for i in case.interviews.values()],
        amendments=[AmendmentView.model_validate(a) for a in personal_data.reveal(case.amendments)],
        rejection=RejectionView.model_validate(case.rejection) if case.rejection else None,
        selected=case.selected,
        referral=ReferralView.model_validate(case.referral) if case.referral else None,
    )


App = Annotated[ScreeningApplication, Depends(application)]
#: Who may record an interview's result.
Interviewer = staff_in("interviewer", "admin")
#: Who may read a case.
CaseReader = staff_in("screener", "interviewer", "admin", "auditor")
router = APIRouter(responses=ERROR_RESPONSES)


@router.post(
    "/cases/{applicant_id}/interviews",
    status_code=201,
    response_model=InterviewRecorded,
    summary="Record the result of an interview (interviewer, admin)",
    responses={200: {"model": InterviewRecorded, "description": "Already recorded."}},
)
async def record_interview(
    applicant_id: uuid.UUID,
    body: InterviewResult,
    app: App,
    staff: Interviewer,
    cid: ContinuedFlow,
    response: Response,
) -> Any:
    # ContinuedFlow, not NewFlow: without the caller's correlation id, the result
    # continues the applicant's flow (the case's), which a new id would break.
    case, recorded = await asyncio.to_thread(
        app.record_interview,
        applicant_id,
        body.stage,
        body.language,
        body.passed,
        body.interviewer,
        body.interviewed_at,
        staff,
        cid,
    )
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return InterviewRecorded(
        case_id=case.id,
        stage=body.stage,
        passed=body.passed,
        recorded=recorded,
        status=case.status,
    )


@router.get(
    "/cases/{applicant_id}",
    response_model=CaseView,
    summary="A screening case (screener, interviewer, admin, auditor)",
)
async def get_case(applicant_id: uuid.UUID, app: App, request: Request, _: CaseReader) -> Any:
    personal_data: PersonalData = request.app.state.personal_data

    def read() -> CaseView:
        return case_view(app.get_case(applicant_id), personal_data)

    return await asyncio.to_thread(read)


#: Who may turn an applicant down; who may select a candidate for matching.
Decider = staff_in("screener", "admin")
Selector = staff_in("admin")

ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


class ReasonIn(Strict):
    code: ReasonCode = Field(description="A code programs can act on, e.g. `no_show`.")
    text: str = Field(
        min_length=1, max_length=300, description="The reason in words, without personal data."
    )


class RejectionBody(Strict):
    reasons: list[ReasonIn] = Field(min_length=1, max_length=20)
    note: str | None = Field(
        default=None, min_length=1, max_length=2000, description="Kept sealed."
    )


class SelectionBody(Strict):
    note: str | None = Field(
        default=None, min_length=1, max_length=2000, description="Kept sealed."
    )


class DecisionRecorded(BaseModel):
    case_id: uuid.UUID
    recorded: bool = Field(description="False when this decision was already recorded.")
    status: str = Field(description="The case's status after the decision.")


def _sealed_note(request: Request, applicant_id: uuid.UUID, note: str | None) -> str | None:
    personal_data: PersonalData = request.app.state.personal_data
    return None if note is None else personal_data.seal(applicant_id, note)


@router.post(
    "/cases/{applicant_id}/rejection",
    status_code=201,
    response_model=DecisionRecorded,
    summary="Turn the applicant down at the step their case is at (screener, admin)",
    responses={200: {"model": DecisionRecorded, "description": "Already recorded."}},
)
async def reject(
    applicant_id: uuid.UUID,
    body: RejectionBody,
    app: App,
    request: Request,
    staff: Decider,
    cid: ContinuedFlow,
    response: Response,
) -> Any:
    def decide() -> tuple[ScreeningCase, bool]:
        app.get_case(applicant_id)  # 404 before sealing anything for a stranger
        note = _sealed_note(request, applicant_id, body.note)
        reasons = [r.model_dump() for r in body.reasons]
        return app.reject(applicant_id, reasons, note, staff, cid)

    case, recorded = await asyncio.to_thread(decide)
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return DecisionRecorded(case_id=case.id, recorded=recorded, status=case.status)


@router.post(
    "/cases/{applicant_id}/selection",
    status_code=201,
    response_model=DecisionRecorded,
    summary="Select the candidate for matching, after both interviews (admin)",
    responses={200: {"model": DecisionRecorded, "description": "Already selected."}},
)
async def select(
    applicant_id: uuid.UUID,
    body: SelectionBody,
    app: App,
    request: Request,
    staff: Selector,
    cid: ContinuedFlow,
    response: Response,
) -> Any:
    def decide() -> tuple[ScreeningCase, bool]:
        app.get_case(applicant_id)
        note = _sealed_note(request, applicant_id, body.note)
        return app.select(applicant_id, note, staff, cid)

    case, recorded = await asyncio.to_thread(decide)
    if not recorded:
        response.status_code = status.HTTP_200_OK
    return DecisionRecorded(case_id=case.id, recorded=recorded, status=case.status)


def records_of(app: ScreeningApplication) -> RecordsOf:
    """What screening holds on a data subject: the stored events of their case (the
    case's facts, eligibility decisions, documents' ids, amendments with their sealed
    reasons, interviews). Screening keeps no other table about a person."""

    async def held(subject_id: uuid.UUID) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            if app.find(subject_id, ScreeningCase) is None:
                return {"screening_case": []}
            return {"screening_case": stored_events_of(app, [subject_id])}

        return await asyncio.to_thread(read)

    return held


def build_http_api(app: ScreeningApplication, gate: Gate, personal_data: PersonalData) -> FastAPI:
    return build_app(
        title="JIP screening",
        description="Screening cases of the Japan Internship Program: documents, "
        "eligibility, amendments and the first and second interviews (office staff).",
        routers=[router, subject_records_router("screening", records_of(app), personal_data)],
        gate=gate,
        application=app,
        personal_data=personal_data,
    )
