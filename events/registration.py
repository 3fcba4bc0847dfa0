"""Events published by the registration service on `jip.registration.v1`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StringConstraints

from events.envelope import Contract, Envelope, UtcDatetime

CohortId = Annotated[str, StringConstraints(pattern=r"^FY\d{4}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CourseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,3}$")]
DocumentKind = Literal[
    "certificate_of_enrollment",
    "certificate_of_graduation",
    "language_score_certificate",
    "letter_of_recommendation",
    "resume",
]
EducationLevel = Literal[
    "junior_college", "technical_college", "bachelor", "master", "doctorate", "other_higher"
]
JlptLevel = Literal["N1", "N2", "N3", "N4", "N5"]
CefrLevel = Literal["A1", "A2", "B1", "B2", "C1", "C2"]


class Education(Contract):
    institution: str = Field(min_length=1, max_length=200)
    level: EducationLevel
    status: Literal["enrolled", "graduated"]
    field_of_study: str = Field(min_length=1, max_length=200)
    graduation_date: date = Field(description="Expected date if still enrolled.")


class LanguageProficiency(Contract):
    jlpt: JlptLevel | None = None
    ielts: float | None = Field(default=None, ge=0, le=9, multiple_of=0.5)
    toefl_ibt: int | None = Field(default=None, ge=0, le=120)
    toeic: int | None = Field(default=None, ge=10, le=990)
    cefr: CefrLevel | None = None


class ApplicantPreregisteredPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    email: EmailStr = Field(description="Normalised (trimmed, lower-case) address.")


class ApplicantRegisteredPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    email: EmailStr
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    nationality: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    country_of_residence: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    education: Education
    languages: LanguageProficiency
    course_preferences: list[CourseCode] = Field(min_length=1)
    period_preferences: list[str] = Field(default_factory=list)
    internship_interests: list[str] = Field(default_factory=list)
    previous_participation_years: list[int] = Field(
        default_factory=list, description="Fiscal years of any earlier JIP participation."
    )
    declares_no_final_job_commitment: bool
    privacy_policy_consented_at: UtcDatetime


class SubmittedDocument(Contract):
    document_id: uuid.UUID
    kind: DocumentKind
    filename: str = Field(min_length=1, max_length=255)
    content_type: str
    size_bytes: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DocumentsSubmittedPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    documents: list[SubmittedDocument] = Field(min_length=1)
    outstanding: list[DocumentKind] = Field(
        description="Kinds still required after this submission; empty when complete."
    )


class ApplicantPreregistered(Envelope):
    """An e-mail address was pre-registered for a cohort; a registration link was issued."""

    event_type: Literal["ApplicantPreregistered"] = "ApplicantPreregistered"
    schema_version: Literal[1] = 1
    producer: Literal["registration"] = "registration"
    payload: ApplicantPreregisteredPayload


class ApplicantRegistered(Envelope):
    """The applicant completed the full registration form through their link."""

    event_type: Literal["ApplicantRegistered"] = "ApplicantRegistered"
    schema_version: Literal[1] = 1
    producer: Literal["registration"] = "registration"
    payload: ApplicantRegisteredPayload


class DocumentsSubmitted(Envelope):
    """The applicant uploaded one or more documents; checksums are in the payload."""

    event_type: Literal["DocumentsSubmitted"] = "DocumentsSubmitted"
    schema_version: Literal[1] = 1
    producer: Literal["registration"] = "registration"
    payload: DocumentsSubmittedPayload
