"""Screening's HTTP API, for office staff. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back:
`{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import hmac
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from events.screening import InterviewLanguage, InterviewStage
from services.screening.application.service import NotFound, ScreeningApplication
from services.screening.domain.case import ScreeningCase
from services.screening.domain.rules import RuleViolation


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid credentials."},
    404: {"model": ErrorResponse, "description": "No such resource."},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state."},
    422: {"model": ErrorResponse, "description": "A field is invalid; see errors."},
}

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


class FindingView(BaseModel):
    rule: str
    reason: str


class EligibilityView(BaseModel):
    eligible: bool
    findings: list[FindingView]


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
    reason: str
    amended_by: str


class CaseView(BaseModel):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: str
    status: Literal["open", "first_interview_passed", "passed", "failed"]
    needs_review: bool = Field(description="Details were amended since the last decision.")
    eligibility: EligibilityView | None = Field(
        description="None until screening knows the cohort's rules (assessed on arrival)."
    )
    documents: DocumentsView
    interviews: list[InterviewView]
    amendments: list[AmendmentView]


def case_view(case: ScreeningCase) -> CaseView:
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
        amendments=[AmendmentView.model_validate(a) for a in case.amendments],
    )


class Unauthorized(Exception):
    pass


def _correlation_id(x_correlation_id: Annotated[str | None, Header()] = None) -> uuid.UUID | None:
    """The caller's correlation id, if it sent one; otherwise the case's own flow is
    continued (the application decides)."""
    try:
        return uuid.UUID(x_correlation_id) if x_correlation_id else None
    except ValueError:
        return None


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized()
    return authorization.removeprefix("Bearer ").strip()


def build_http_api(app: ScreeningApplication, staff_token: str) -> FastAPI:
    api = FastAPI(
        title="JIP screening",
        version="1.0.0",
        description="Screening cases of the Japan Internship Program: documents, "
        "eligibility, amendments and the first and second interviews (office staff).",
    )
    router = APIRouter(responses=ERRORS)

    def staff(authorization: Annotated[str | None, Header()] = None) -> str:
        if not hmac.compare_digest(_bearer(authorization), staff_token):
            raise Unauthorized()
        return "office-staff"

    Staff = Annotated[str, Depends(staff)]
    Correlation = Annotated[uuid.UUID | None, Depends(_correlation_id)]

    @router.post(
        "/cases/{applicant_id}/interviews",
        status_code=201,
        response_model=InterviewRecorded,
        summary="Record the result of an interview (staff)",
        responses={200: {"model": InterviewRecorded, "description": "Already recorded."}},
    )
    async def record_interview(
        applicant_id: uuid.UUID,
        body: InterviewResult,
        _: Staff,
        cid: Correlation,
        response: Response,
    ) -> Any:
        case, recorded = await asyncio.to_thread(
            app.record_interview,
            applicant_id,
            body.stage,
            body.language,
            body.passed,
            body.interviewer,
            body.interviewed_at,
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
        "/cases/{applicant_id}", response_model=CaseView, summary="A screening case (staff)"
    )
    async def get_case(applicant_id: uuid.UUID, _: Staff) -> Any:
        return case_view(await asyncio.to_thread(app.get_case, applicant_id))

    @router.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    api.include_router(router)
    _install_error_handlers(api)
    return api


def _install_error_handlers(api: FastAPI) -> None:
    def answer(code: int, detail: str, errors: list[dict[str, str]]) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": detail, "errors": errors})

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path", "header")]
            errors.append({"field": ".".join(loc) or "body", "reason": e["msg"]})
        return answer(422, "The request is invalid.", errors)

    @api.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return answer(404, exc.reason, [{"field": exc.field, "reason": exc.reason}])

    @api.exception_handler(RuleViolation)
    async def violated(_: Request, exc: RuleViolation) -> JSONResponse:
        code = status.HTTP_409_CONFLICT if exc.conflict else 422
        return answer(code, exc.reason, [{"field": exc.field, "reason": exc.reason}])

    @api.exception_handler(IntegrityError)
    async def changed_meanwhile(_: Request, __: IntegrityError) -> JSONResponse:
        reason = "the case changed while this request was handled; send it again"
        return answer(409, reason, [{"field": "applicant_id", "reason": reason}])

    @api.exception_handler(Unauthorized)
    async def unauthorized(_: Request, __: Unauthorized) -> JSONResponse:
        return answer(
            401,
            "Missing or invalid credentials.",
            [{"field": "authorization", "reason": "a valid bearer token is required"}],
        )
