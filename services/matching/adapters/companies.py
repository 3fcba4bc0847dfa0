"""Host companies over HTTP: a company's registration for a cohort (by the office, or by
the company's own user under the company id of their token) and what the office reads
of them. Thin: validate, call the application, answer.

How a company gets its id: the office picks a new UUID for it (registering it itself,
or not), and issues its users tokens naming it
(`python -m runtime.identity issue --kind company --company-id <uuid> ...`); a company
user then registers, and reads, only that company.
"""

# No `from __future__ import annotations` here: FastAPI reads the annotations at runtime.

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from events.matching import (
    MAX_EMPLOYEES,
    MAX_YEN,
    CorporateNumber,
    Industry,
    MonthInterval,
    OrganisationKind,
    Prefecture,
    SmeEligibility,
)
from events.registration import CohortId, CourseCode, LanguageProficiency, PreferredLanguage
from kernel.actor import Actor
from runtime.http import (
    ERROR_RESPONSES,
    ContinuedFlow,
    ErrorResponse,
    application,
    company_or_staff_in,
    error_answer,
    require_own_company,
    staff_in,
)
from runtime.identity import Role
from runtime.privacy import PersonalData
from services.matching.application.service import MatchingApplication
from services.matching.domain.company import (
    MAX_CAPACITY,
    Company,
    CompanyRegistration,
    CompanyStatus,
    InternshipPlan,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(Strict):
    """Someone at the company the office and the intern deal with (personal data)."""

    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{5,19}$")
    title: str | None = Field(default=None, max_length=100)
    language: PreferredLanguage = Field(
        default="ja", description="The language the office writes to them in: `ja` or `en`."
    )


class Plan(Strict):
    content: str = Field(min_length=1, max_length=4000, description="What the intern will do.")
    required_languages: LanguageProficiency = Field(
        default_factory=LanguageProficiency,
        description="Minimum levels: a JLPT level means that level or better, a score "
        "that score or more.",
    )
    skills: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default=[], max_length=30
    )
    periods: list[MonthInterval] = Field(
        default=[],
        max_length=12,
        description="When the company can host, as month intervals `YYYY-MM/YYYY-MM`; "
        "none: any period of the cohort.",
    )


class CompanyRegistrationRequest(Strict):
    cohort_id: CohortId
    legal_name: str = Field(min_length=1, max_length=200)
    corporate_number: CorporateNumber
    organisation_kind: OrganisationKind = Field(
        description="Only a company may host; the others are refused (and the refusal recorded)."
    )
    industry: Industry
    prefecture: Prefecture
    capital_yen: int = Field(ge=0, le=MAX_YEN)
    regular_employees: int = Field(ge=0, le=MAX_EMPLOYEES)
    courses: list[CourseCode] = Field(min_length=1, description="Codes of the cohort's courses.")
    plan: Plan
    capacity: int = Field(default=1, ge=1, le=MAX_CAPACITY)
    contacts: list[Contact] = Field(min_length=1, max_length=5)


class Refusal(BaseModel):
    code: str
    field: str
    text: str
    saw: dict[str, Any]


class CompanyView(BaseModel):
    company_id: uuid.UUID
    cohort_id: str
    status: CompanyStatus = Field(
        description="`refused`: not an eligible host (see `refusals`); it may register again."
    )
    legal_name: str
    corporate_number: str
    organisation_kind: str
    industry: str
    prefecture: str
    capital_yen: int
    regular_employees: int
    courses: list[str]
    plan: dict[str, Any]
    capacity: int
    eligibility: SmeEligibility
    refusals: list[Refusal]
    contacts: list[Contact] | None = Field(
        description="Opened for the office's matchers and admins and the company's own "
        "users; null for the others (and for an erased company)."
    )


class CompanyRegisteredResponse(CompanyView):
    registered: bool = Field(description="False when this registration was already recorded.")


class CohortCompanies(BaseModel):
    cohort_id: str
    companies: list[CompanyView] = Field(
        description="In the order they first registered, refused ones included; no contacts."
    )


async def personal_data(request: Request) -> PersonalData:
    return request.app.state.personal_data  # type: ignore[no-any-return]


App = Annotated[MatchingApplication, Depends(application)]
Personal = Annotated[PersonalData, Depends(personal_data)]


def own_company_or_staff_in(*roles: Role) -> Any:
    """A user of the company named by the path's `{company_id}`, or office staff in one
    of `roles`. A dependency, so that the refusal comes before the body is read (an
    invalid body from another company's user gets the same 403 as a valid one)."""
    either = company_or_staff_in(*roles)

    async def own_company_or_staff(company_id: uuid.UUID, caller: either) -> Actor:
        require_own_company(caller, company_id)
        return caller

    return Annotated[Actor, Depends(own_company_or_staff)]


#: Who may register a company: the office, or a user of that very company.
Registrar = own_company_or_staff_in("matcher", "admin")
#: Who may read a company: the office, or its own users.
CompanyReader = own_company_or_staff_in("matcher", "admin", "auditor")
#: Who may list a cohort's companies.
CohortReader = staff_in("matcher", "admin", "auditor")
router = APIRouter(tags=["companies"], responses=ERROR_RESPONSES)


def company_view(company: Company, contacts: list[dict[str, Any]] | None) -> dict[str, Any]:
    details = {k: v for k, v in company.details.items() if k != "company_id"}
    return {
        **details,
        "company_id": company.company_id,
        "status": company.status,
        "eligibility": company.eligibility,
        "refusals": company.refusals,
        "contacts": contacts,
    }


def opened_contacts(
    company: Company, reader: Actor, personal: PersonalData
) -> list[dict[str, Any]] | None:
    """The contacts, for those who deal with the company (not an auditor)."""
    if reader.get("role") == "auditor":
        return None
    opened = personal.unseal(company.contacts)
    return opened if isinstance(opened, list) else None


@router.put(
    "/companies/{company_id}",
    status_code=201,
    response_model=CompanyRegisteredResponse,
    summary="Register a host company for a cohort (matcher, admin, or a user of that company)",
    responses={
        200: {"model": CompanyRegisteredResponse, "description": "Already registered."},
        422: {
            "model": ErrorResponse,
            "description": "Invalid input (nothing recorded), or the company is not an "
            "eligible host: the refusal is recorded with its reasons, one error each.",
        },
    },
)
async def register_company(
    company_id: uuid.UUID,
    body: CompanyRegistrationRequest,
    app: App,
    personal: Personal,
    registrar: Registrar,
    cid: ContinuedFlow,
    response: Response,
) -> Any:
    registration = CompanyRegistration(
        company_id=company_id,
        cohort_id=body.cohort_id,
        legal_name=body.legal_name,
        corporate_number=body.corporate_number,
        organisation_kind=body.organisation_kind,
        industry=body.industry,
        prefecture=body.prefecture,
        capital_yen=body.capital_yen,
        regular_employees=body.regular_employees,
        courses=tuple(body.courses),
        plan=InternshipPlan(
            content=body.plan.content,
            required_languages=body.plan.required_languages.model_dump(exclude_none=True),
            skills=tuple(body.plan.skills),
            periods=tuple(body.plan.periods),
        ),
        capacity=body.capacity,
    )
    contacts = [c.model_dump(mode="json", exclude_none=True) for c in body.contacts]
    decided = await asyncio.to_thread(
        app.register_company, registration, contacts, personal, registrar, cid
    )
    company = decided.company
    if company.status == "refused":
        return refused(company)
    if not decided.new:
        response.status_code = status.HTTP_200_OK
    return CompanyRegisteredResponse(**company_view(company, contacts), registered=decided.new)


def refused(company: Company) -> JSONResponse:
    reasons = "; ".join(r["text"] for r in company.refusals)
    return error_answer(
        422,
        f"The company is not an eligible host (the refusal is recorded): {reasons}",
        [{"field": r["field"], "reason": r["text"]} for r in company.refusals],
    )


@router.get(
    "/companies/{company_id}",
    response_model=CompanyView,
    summary="A host company (matcher, admin, auditor, or a user of that company)",
)
async def get_company(
    company_id: uuid.UUID, app: App, personal: Personal, reader: CompanyReader
) -> Any:
    # `CompanyReader` refused another company's user before the look-up: they learn
    # nothing of other companies, not even whether they exist.
    company = await asyncio.to_thread(app.get_company, company_id)
    contacts = await asyncio.to_thread(opened_contacts, company, reader, personal)
    return company_view(company, contacts)


@router.get(
    "/cohorts/{cohort_id}/companies",
    response_model=CohortCompanies,
    summary="The host companies of a cohort, registered or refused (matcher, admin, auditor)",
)
async def companies_of_cohort(
    cohort_id: Annotated[str, Path(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")],
    app: App,
    _: CohortReader,
) -> Any:
    companies = await asyncio.to_thread(app.companies_of_cohort, cohort_id)
    return {"cohort_id": cohort_id, "companies": [company_view(c, None) for c in companies]}
