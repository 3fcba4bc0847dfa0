"""Screening's HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from events.registration import DocumentKind
from events.screening import (
    DocumentRejectionCode,
    InterviewLanguage,
    InterviewSlot,
    InterviewStage,
    StaffId,
)
from kernel.rules import RuleViolation
from runtime.http import (
    ERROR_RESPONSES,
    ContinuedFlow,
    Forbidden,
    application,
    build_app,
    staff_in,
)
from runtime.identity import Gate
from runtime.keystore import SubjectErased
from runtime.privacy import PersonalData
from runtime.privacy_api import RecordsOf, stored_events_of, subject_records_router
from services.screening.application.service import ScreeningApplication
from services.screening.domain.case import ScreeningCase
from services.screening.domain.documents import ReviewState, review_state


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


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


class DocumentItemView(BaseModel):
    document_id: uuid.UUID
    kind: str
    state: ReviewState = Field(
        description="`superseded`: a newer document of its kind was received."
    )
    reason_code: str | None = Field(default=None, description="Why it was rejected.")
    note: str | None = Field(default=None, description="The reviewer's note, opened.")
    reviewed_by: str | None = None


class DocumentRequestView(BaseModel):
    kind: str
    reason_code: str
    due_by: date | None
    note: str | None = Field(description="Opened for the reader.")
    requested_by: str


class DocumentsView(BaseModel):
    received: list[str] = Field(description="Kinds of the documents received so far.")
    required: list[str] = Field(
        description="The kinds this applicant must provide (by their education, their "
        "language scores, and the office's requests)."
    )
    outstanding: list[str] = Field(description="Required kinds without an accepted document.")
    complete: bool = Field(description="Every required document is in and accepted.")
    items: list[DocumentItemView] = Field(description="Every document, in order of arrival.")
    requests: list[DocumentRequestView]


def documents_view(case: ScreeningCase, personal_data: PersonalData) -> DocumentsView:
    state = case.documents_state
    decisions = {d: r["decision"] for d, r in case.document_reviews.items()}
    reviews = personal_data.reveal(case.document_reviews)
    items = []
    for document in case.documents:
        document_id = str(document["document_id"])
        review = reviews.get(document_id, {})
        items.append(
            DocumentItemView(
                document_id=document["document_id"],
                kind=document["kind"],
                state=review_state(document_id, document["kind"], state, decisions),
                reason_code=review.get("reason_code"),
                note=review.get("note"),
                reviewed_by=review.get("reviewed_by"),
            )
        )
    return DocumentsView(
        received=sorted({d["kind"] for d in case.documents}),
        required=state.required,
        outstanding=state.outstanding,
        complete=state.complete,
        items=items,
        requests=[
            DocumentRequestView.model_validate(r)
            for r in personal_data.reveal(case.document_requests)
        ],
    )


class RescheduledView(BaseModel):
    slot: dict[str, Any] = Field(description="The slot given up.")
    replaced_by: dict[str, Any]
    reason: dict[str, str]
    by: str


class CorrectionView(BaseModel):
    corrected: dict[str, Any] = Field(description='By field: `{"from": ..., "to": ...}`.')
    reason: str = Field(description="Opened for the reader; `[erased]` once the applicant is.")
    by: str


class ResultView(BaseModel):
    passed: bool
    language: str
    interviewer: str
    interviewed_at: datetime
    scorecard: dict[str, Any] | None = Field(
        description="Scores by criterion, total, pass mark and the rule set (None for a "
        "result recorded before scorecards)."
    )
    note: str | None = Field(default=None, description="The interviewer's note, opened.")


class InterviewView(BaseModel):
    interview_id: str
    stage: str
    state: Literal["scheduled", "held", "cancelled", "missed"]
    slot: dict[str, Any] | None = Field(description="The current slot (None: unscheduled).")
    history: list[RescheduledView] = Field(description="Each move of the interview.")
    reason: dict[str, str] | None = Field(default=None, description="Why it was cancelled.")
    result: ResultView | None
    corrections: list[CorrectionView]


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
        "open",
        "first_interview_passed",
        "passed",
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
    interviews: list[InterviewView] = Field(description="In the order they were scheduled.")
    amendments: list[AmendmentView]
    rejection: RejectionView | None = Field(description="Why the applicant was turned down.")
    selected: bool
    referral: ReferralView | None = Field(
        description="Selected, then found ineligible: why the office must decide."
    )


def case_view(case: ScreeningCase, personal_data: PersonalData) -> CaseView:
    """The case as staff read it: the amendments' reasons, the reviewers' and
    interviewers' notes (kept sealed) opened now."""
    return CaseView(
        case_id=case.id,
        applicant_id=case.applicant_id,
        cohort_id=case.cohort_id,
        status=case.status,  # type: ignore[arg-type]
        needs_review=case.needs_review,
        eligibility=EligibilityView.model_validate(case.eligibility) if case.eligibility else None,
        documents=documents_view(case, personal_data),
        interviews=[
            InterviewView.model_validate(i)
            for i in personal_data.reveal(list(case.interviews.values()))
        ],
        amendments=[AmendmentView.model_validate(a) for a in personal_data.reveal(case.amendments)],
        rejection=RejectionView.model_validate(case.rejection) if case.rejection else None,
        selected=case.selected,
        referral=ReferralView.model_validate(case.referral) if case.referral else None,
    )


App = Annotated[ScreeningApplication, Depends(application)]
#: Who reviews and requests documents and schedules interviews.
Screener = staff_in("screener", "admin")
#: Who may record an interview's result.
Interviewer = staff_in("interviewer", "admin")
#: Who notes that an applicant did not attend.
NoShowWitness = staff_in("screener", "interviewer", "admin")
#: Who corrects a recorded result.
Admin = staff_in("admin")
#: Who may read a case.
CaseReader = staff_in("screener", "interviewer", "admin", "auditor")
router = APIRouter(responses=ERROR_RESPONSES)

Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _sealer(request: Request, applicant_id: uuid.UUID) -> Callable[[str | None], str | None]:
    """Seals a staff member's words about the applicant with their key (in a thread:
    it reads the key store). Only for an applicant screening knows: a note about an
    unknown id is refused (404) before a key is ever made for it."""
    personal_data: PersonalData = request.app.state.personal_data
    app: ScreeningApplication = request.app.state.application

    def seal(text: str | None) -> str | None:
        if text is None:
            return None
        app.get_case(applicant_id)
        try:
            return personal_data.seal(applicant_id, text)
        except SubjectErased:
            raise RuleViolation(
                "note", "the applicant was erased: nothing more is kept about them", conflict=True
            ) from None

    return seal


def _answered(response: Response, recorded: bool) -> None:
    """201 when the command recorded something, 200 when it had been given before."""
    response.status_code = status.HTTP_201_CREATED if recorded else status.HTTP_200_OK


# -- documents --------------------------------------------------------------------------
class DocumentReview(Strict):
    decision: Literal["accepted", "rejected"]
    reason_code: DocumentRejectionCode | None = Field(
        default=None, description="Required when rejected; absent when accepted."
    )
    note: Note | None = Field(default=None, description="Kept sealed with the applicant's key.")


class DocumentReviewAnswer(BaseModel):
    case_id: uuid.UUID
    document_id: uuid.UUID
    decision: str
    recorded: bool = Field(description="False when this decision was already recorded.")
    documents: DocumentsView


@router.post(
    "/cases/{applicant_id}/documents/{document_id}/review",
    status_code=201,
    response_model=DocumentReviewAnswer,
    summary="Accept or reject a document (screener, admin)",
    responses={200: {"model": DocumentReviewAnswer, "description": "Already so decided."}},
)
async def review_document(
    applicant_id: uuid.UUID,
    document_id: uuid.UUID,
    body: DocumentReview,
    app: App,
    staff: Screener,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    seal = _sealer(request, applicant_id)

    def review() -> DocumentReviewAnswer:
        case, recorded = app.review_document(
            applicant_id,
            document_id,
            body.decision,
            body.reason_code,
            seal(body.note),
            staff,
            cid,
        )
        _answered(response, recorded)
        return DocumentReviewAnswer(
            case_id=case.id,
            document_id=document_id,
            decision=body.decision,
            recorded=recorded,
            documents=documents_view(case, request.app.state.personal_data),
        )

    return await asyncio.to_thread(review)


class DocumentRequest(Strict):
    kind: DocumentKind
    due_by: date | None = Field(default=None, description="By when the office needs it.")
    note: Note | None = Field(default=None, description="Kept sealed with the applicant's key.")


class DocumentRequestAnswer(BaseModel):
    case_id: uuid.UUID
    kind: str
    recorded: bool = Field(description="False when this very request was already made.")
    documents: DocumentsView


@router.post(
    "/cases/{applicant_id}/document-requests",
    status_code=201,
    response_model=DocumentRequestAnswer,
    summary="Ask the applicant for a document (screener, admin)",
    responses={200: {"model": DocumentRequestAnswer, "description": "Already requested."}},
)
async def request_document(
    applicant_id: uuid.UUID,
    body: DocumentRequest,
    app: App,
    staff: Screener,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    seal = _sealer(request, applicant_id)

    def ask() -> DocumentRequestAnswer:
        case, recorded = app.request_document(
            applicant_id, body.kind, body.due_by, seal(body.note), staff, cid
        )
        _answered(response, recorded)
        return DocumentRequestAnswer(
            case_id=case.id,
            kind=body.kind,
            recorded=recorded,
            documents=documents_view(case, request.app.state.personal_data),
        )

    return await asyncio.to_thread(ask)


# -- interviews -------------------------------------------------------------------------
class InterviewToSchedule(Strict):
    stage: InterviewStage
    slot: InterviewSlot


class ReasonGiven(Strict):
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    text: str = Field(min_length=1, max_length=300, description="No personal data.")


class Rescheduling(Strict):
    slot: InterviewSlot
    reason: ReasonGiven


class Cancellation(Strict):
    reason: ReasonGiven


class InterviewResultGiven(Strict):
    interviewed_at: UtcDatetime
    scores: dict[str, int] = Field(
        description="By criterion id of the round's scorecard: each exactly once, from 0 "
        "to its maximum."
    )
    note: Note | None = Field(default=None, description="Kept sealed with the applicant's key.")


class Correction(Strict):
    interviewed_at: UtcDatetime | None = None
    language: InterviewLanguage | None = None
    interviewer: StaffId | None = None
    scores: dict[str, int] | None = Field(
        default=None, description="Every criterion of the recorded scorecard, corrected."
    )
    reason: Note = Field(description="Why; kept sealed with the applicant's key.")


class InterviewAnswer(BaseModel):
    case_id: uuid.UUID
    interview_id: uuid.UUID
    recorded: bool = Field(description="False when this very command was already given.")
    status: str = Field(description="The case's status after it.")
    interview: InterviewView


def _interview_answer(
    case: ScreeningCase, interview_id: uuid.UUID, recorded: bool, request: Request
) -> InterviewAnswer:
    personal_data: PersonalData = request.app.state.personal_data
    return InterviewAnswer(
        case_id=case.id,
        interview_id=interview_id,
        recorded=recorded,
        status=case.status,
        interview=InterviewView.model_validate(
            personal_data.reveal(case.interviews[str(interview_id)])
        ),
    )


INTERVIEW = "/cases/{applicant_id}/interviews/{interview_id}"
_ALREADY = {200: {"model": InterviewAnswer, "description": "Already done."}}


@router.post(
    "/cases/{applicant_id}/interviews",
    status_code=201,
    response_model=InterviewAnswer,
    summary="Schedule an interview round (screener, admin)",
    responses=_ALREADY,
)
async def schedule_interview(
    applicant_id: uuid.UUID,
    body: InterviewToSchedule,
    app: App,
    staff: Screener,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    # ContinuedFlow, not NewFlow: without the caller's correlation id, the interview
    # continues the applicant's flow (the case's), which a new id would break.
    def schedule() -> InterviewAnswer:
        case, interview_id, recorded = app.schedule_interview(
            applicant_id, body.stage, body.slot.model_dump(mode="json"), staff, cid
        )
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(schedule)


@router.post(
    INTERVIEW + "/reschedule",
    status_code=201,
    response_model=InterviewAnswer,
    summary="Move a scheduled interview to a new slot (screener, admin)",
    responses=_ALREADY,
)
async def reschedule_interview(
    applicant_id: uuid.UUID,
    interview_id: uuid.UUID,
    body: Rescheduling,
    app: App,
    staff: Screener,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    def move() -> InterviewAnswer:
        case, recorded = app.reschedule_interview(
            applicant_id,
            interview_id,
            body.slot.model_dump(mode="json"),
            body.reason.model_dump(),
            staff,
            cid,
        )
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(move)


@router.post(
    INTERVIEW + "/cancellation",
    status_code=201,
    response_model=InterviewAnswer,
    summary="Cancel a scheduled interview (screener, admin)",
    responses=_ALREADY,
)
async def cancel_interview(
    applicant_id: uuid.UUID,
    interview_id: uuid.UUID,
    body: Cancellation,
    app: App,
    staff: Screener,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    def cancel() -> InterviewAnswer:
        case, recorded = app.cancel_interview(
            applicant_id, interview_id, body.reason.model_dump(), staff, cid
        )
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(cancel)


@router.post(
    INTERVIEW + "/no-show",
    status_code=201,
    response_model=InterviewAnswer,
    summary="The applicant did not attend (screener, interviewer, admin)",
    responses=_ALREADY,
)
async def note_no_show(
    applicant_id: uuid.UUID,
    interview_id: uuid.UUID,
    app: App,
    staff: NoShowWitness,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    def note() -> InterviewAnswer:
        case, recorded = app.note_no_show(applicant_id, interview_id, staff, cid)
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(note)


@router.post(
    INTERVIEW + "/result",
    status_code=201,
    response_model=InterviewAnswer,
    summary="Record an interview's scores: passed or failed by the scorecard (its "
    "interviewer, admin)",
    responses=_ALREADY,
)
async def record_interview_result(
    applicant_id: uuid.UUID,
    interview_id: uuid.UUID,
    body: InterviewResultGiven,
    app: App,
    staff: Interviewer,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    seal = _sealer(request, applicant_id)

    def record() -> InterviewAnswer:
        if staff.get("role") == "interviewer":
            # An interviewer scores the interviews assigned to them (the slot names
            # them); an admin may record anyone's, e.g. from a paper scorecard.
            interview = app.get_case(applicant_id).interviews.get(str(interview_id))
            slot = (interview or {}).get("slot") or {}
            if interview is not None and slot.get("interviewer") != staff["id"]:
                raise Forbidden()
        case, recorded = app.record_interview_result(
            applicant_id,
            interview_id,
            body.interviewed_at,
            body.scores,
            seal(body.note),
            staff,
            cid,
        )
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(record)


@router.post(
    INTERVIEW + "/corrections",
    status_code=201,
    response_model=InterviewAnswer,
    summary="Correct a recorded interview result, saying why (admin)",
    responses={200: {"model": InterviewAnswer, "description": "Nothing to correct."}},
)
async def correct_interview_record(
    applicant_id: uuid.UUID,
    interview_id: uuid.UUID,
    body: Correction,
    app: App,
    staff: Admin,
    cid: ContinuedFlow,
    request: Request,
    response: Response,
) -> Any:
    seal = _sealer(request, applicant_id)
    changes = body.model_dump(exclude={"reason"}, exclude_none=True)

    def correct() -> InterviewAnswer:
        reason = seal(body.reason)
        assert reason is not None
        case, recorded = app.correct_interview_record(
            applicant_id, interview_id, changes, reason, staff, cid
        )
        _answered(response, recorded)
        return _interview_answer(case, interview_id, recorded, request)

    return await asyncio.to_thread(correct)


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
        note = _sealer(request, applicant_id)(body.note)
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
        note = _sealer(request, applicant_id)(body.note)
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
