"""Registration's HTTP API. Thin: validate, call the application, answer.

Every error is JSON naming the field and the reason, never echoing the input back
(it may be personal data): `{"detail": ..., "errors": [{"field": ..., "reason": ...}]}`.
"""

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import pycountry
from fastapi import APIRouter, Depends, FastAPI, File, Header, Query, Request, UploadFile
from pydantic import MISSING, AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from events.registration import (
    CohortId,
    CohortRules,
    Course,
    CourseCode,
    Education,
    LanguageProficiency,
)
from runtime.http import (
    ERROR_RESPONSES,
    ErrorResponse,
    Unauthorized,
    bearer_token,
    correlation_id,
    error_answer,
    install_error_handlers,
    staff_guard,
)
from services.registration.adapters.document_store import DocumentStore
from services.registration.adapters.status_view import StatusView
from services.registration.application.service import NotFound, RegistrationApplication
from services.registration.domain.rules import RuleViolation


def _iso_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(_iso_country)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class PreregistrationRequest(Strict):
    email: EmailStr


class Accepted(BaseModel):
    detail: str


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
    previous_participation_years: list[Annotated[int, Field(ge=2000, le=2100)]] = []
    declares_no_final_job_commitment: bool
    privacy_policy_consent: bool


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
    access_token: str = Field(description="Bearer token for the applicant's own endpoints.")
    outstanding_documents: list[str]


class DocumentView(BaseModel):
    kind: str
    filename: str
    sha256: str
    submitted_at: datetime


class StatusResponse(BaseModel):
    applicant_id: uuid.UUID
    cohort_id: str
    stage: Literal["preregistered", "registered", "documents_complete"]
    outstanding_documents: list[str]
    submitted_documents: list[DocumentView]
    amendments: int
    updated_at: datetime


class DocumentsResponse(BaseModel):
    recorded: list[DocumentView] = Field(description="Documents new in this submission.")
    outstanding_documents: list[str]


Name = Annotated[str, Field(min_length=1, max_length=100)]


class AmendableDetails(Strict):
    """The details the office may change, validated exactly as in the registration form.
    A detail left out does not change; none can be erased (null is refused), as in the
    published `ApplicantDetailsAmended`."""

    given_name: Name | MISSING = MISSING
    family_name: Name | MISSING = MISSING
    date_of_birth: date | MISSING = MISSING
    nationality: Country | MISSING = MISSING
    country_of_residence: Country | MISSING = MISSING
    education: Education | MISSING = MISSING
    languages: LanguageProficiency | MISSING = MISSING


class AmendmentRequest(Strict):
    changes: AmendableDetails
    reason: str = Field(min_length=1, max_length=1000)


class Amended(BaseModel):
    amended: bool = Field(description="False when the details already had these values.")


class InquiryForm(Strict):
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    email_confirmation: EmailStr
    country: Country
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,20}$")
    sender_kind: Literal["individual", "company"]
    inquiry_type: Literal["application", "eligibility", "documents", "hosting", "other"]
    text: str = Field(min_length=1)
    privacy_policy_consent: bool


class InquiryReceipt(BaseModel):
    inquiry_id: uuid.UUID


class InquiryAnswer(Strict):
    answer: str = Field(min_length=1, max_length=5000)


def build_http_api(
    app: RegistrationApplication,
    documents: DocumentStore,
    status_view: StatusView,
    staff_token: str,
) -> FastAPI:
    api = FastAPI(
        title="JIP registration",
        version="1.0.0",
        description="Cohorts, pre-registration, full registration, documents, status, "
        "amendments and inquiries of the Japan Internship Program.",
    )
    router = APIRouter(responses=ERROR_RESPONSES)
    Correlation = Annotated[uuid.UUID, Depends(correlation_id)]
    # Five documents at most per request, plus room for the multipart framing.
    max_upload_bytes = 5 * documents.max_bytes + 64 * 1024

    @api.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next: Any) -> Any:
        """Refuse an upload that announces more than five documents' worth of bytes
        before reading it: the framework would otherwise spool all of it to disk first.
        (Each file is also checked against the per-document limit as it is stored.)"""
        if request.url.path == "/applicants/me/documents":
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_upload_bytes:
                reason = f"a submission may carry at most {max_upload_bytes} bytes"
                return error_answer(413, reason, [{"field": "files", "reason": reason}])
        return await call_next(request)

    def applicant(authorization: Annotated[str | None, Header()] = None) -> uuid.UUID:
        try:
            return app.authenticate_applicant(bearer_token(authorization))
        except RuleViolation:
            raise Unauthorized() from None

    Staff = Annotated[str, Depends(staff_guard(staff_token))]
    ApplicantId = Annotated[uuid.UUID, Depends(applicant)]

    @router.post(
        "/cohorts",
        status_code=201,
        response_model=CohortOpenedResponse,
        summary="Open a cohort with its calendar, courses and rules (staff)",
    )
    async def open_cohort(spec: CohortSpec, staff_id: Staff, cid: Correlation) -> Any:
        data = spec.model_dump(mode="python")
        data["courses"] = [c.model_dump(mode="json") for c in spec.courses]
        data["rules"] = spec.rules.model_dump(mode="json")
        opened = await asyncio.to_thread(app.open_cohort, data, staff_id, cid)
        return CohortOpenedResponse(cohort_id=spec.cohort_id, opened=opened)

    @router.post(
        "/cohorts/{cohort_id}/preregistrations",
        status_code=202,
        response_model=Accepted,
        summary="Pre-register an e-mail address",
    )
    async def preregister(
        cohort_id: CohortId, body: PreregistrationRequest, cid: Correlation
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
        cohort_id: CohortId, body: PreregistrationRequest, cid: Correlation
    ) -> Any:
        await asyncio.to_thread(app.reissue_registration_link, cohort_id, str(body.email), cid)
        return Accepted(detail="If this address is pre-registered, a new link has been sent.")

    @router.get(
        "/registration",
        response_model=RegistrationLinkView,
        summary="Follow a registration link: check it and see the cohort's form",
    )
    async def follow_link(token: Annotated[str, Query(min_length=10, max_length=200)]) -> Any:
        applicant_, cohort = await asyncio.to_thread(app.open_registration_link, token)
        return RegistrationLinkView(
            cohort_id=cohort.cohort_id,
            courses=[
                CourseView(code=c["code"], name=c.get("name", c["code"]), mode=c.get("mode", ""))
                for c in cohort.courses
            ],
            link_expires_at=applicant_.link_expires_at,
            applications_close_at=cohort.applications_close_at,
            next_step="POST /registrations with this token and the registration form",
        )

    @router.post(
        "/registrations",
        status_code=201,
        response_model=RegistrationResponse,
        summary="Complete the full registration through the link's token",
    )
    async def register(form: RegistrationForm, cid: Correlation) -> Any:
        details = form.model_dump(mode="json", exclude={"token"})
        applicant_, _ = await asyncio.to_thread(app.register, form.token, details, cid)
        return RegistrationResponse(
            applicant_id=applicant_.id,
            access_token=app.access_token(applicant_.id),
            outstanding_documents=applicant_.outstanding_documents(),
        )

    @router.post(
        "/applicants/me/documents",
        status_code=201,
        response_model=DocumentsResponse,
        responses={413: {"model": ErrorResponse, "description": "The upload is too large."}},
        summary="Upload documents (multipart; one part per document kind)",
    )
    async def submit_documents(
        applicant_id: ApplicantId,
        cid: Correlation,
        certificate_of_enrollment: Annotated[UploadFile | None, File()] = None,
        certificate_of_graduation: Annotated[UploadFile | None, File()] = None,
        language_score_certificate: Annotated[UploadFile | None, File()] = None,
        letter_of_recommendation: Annotated[UploadFile | None, File()] = None,
        resume: Annotated[UploadFile | None, File()] = None,
    ) -> Any:
        uploads: dict[str, UploadFile | None] = {
            "certificate_of_enrollment": certificate_of_enrollment,
            "certificate_of_graduation": certificate_of_graduation,
            "language_score_certificate": language_score_certificate,
            "letter_of_recommendation": letter_of_recommendation,
            "resume": resume,
        }
        present = {kind: f for kind, f in uploads.items() if f is not None}
        if not present:
            raise RuleViolation(
                "files", "attach at least one document, as a part named by its kind"
            )
        await asyncio.to_thread(app.get_applicant, applicant_id)
        stored = [
            await asyncio.to_thread(documents.store, applicant_id, kind, f.filename or "", f.file)
            for kind, f in present.items()
        ]
        applicant_, new = await asyncio.to_thread(
            app.submit_documents, applicant_id, [d.as_event_data() for d in stored], cid
        )
        now = datetime.now().astimezone()
        return DocumentsResponse(
            recorded=[
                DocumentView(
                    kind=d["kind"], filename=d["filename"], sha256=d["sha256"], submitted_at=now
                )
                for d in new
            ],
            outstanding_documents=applicant_.outstanding_documents(),
        )

    @router.get(
        "/applicants/me/status",
        response_model=StatusResponse,
        summary="Where the application stands (read model)",
    )
    async def my_status(applicant_id: ApplicantId) -> Any:
        row = await status_view.get(applicant_id)
        if row is None:
            raise NotFound("applicant_id", "the status is not available yet; try again shortly")
        return row

    @router.post(
        "/applicants/{applicant_id}/amendments",
        response_model=Amended,
        summary="Record a change of an applicant's details, with its reason (staff)",
    )
    async def amend(
        applicant_id: uuid.UUID, body: AmendmentRequest, staff_id: Staff, cid: Correlation
    ) -> Any:
        changes = body.changes.model_dump(mode="json", exclude_unset=True)
        amended = await asyncio.to_thread(
            app.amend_details, applicant_id, changes, body.reason, staff_id, cid
        )
        return Amended(amended=amended)

    @router.post(
        "/inquiries",
        status_code=202,
        response_model=InquiryReceipt,
        summary="Send the office an inquiry",
    )
    async def inquire(form: InquiryForm, cid: Correlation) -> Any:
        if form.email != form.email_confirmation:
            raise RuleViolation("email_confirmation", "the two e-mail addresses differ")
        inquiry_id, _ = await asyncio.to_thread(
            app.receive_inquiry, form.model_dump(mode="json"), cid
        )
        return InquiryReceipt(inquiry_id=inquiry_id)

    @router.post(
        "/inquiries/{inquiry_id}/answer", status_code=204, summary="Answer an inquiry (staff)"
    )
    async def answer(
        inquiry_id: uuid.UUID, body: InquiryAnswer, staff_id: Staff, cid: Correlation
    ) -> None:
        await asyncio.to_thread(app.answer_inquiry, inquiry_id, body.answer, staff_id, cid)

    @router.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    api.include_router(router)
    install_error_handlers(api, rule_violation=RuleViolation, not_found=NotFound)
    return api
