"""Events published by the matching service on `jip.matching.v1`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from events.envelope import Contract, Envelope, UtcDatetime
from events.privacy import Sealed
from events.registration import CohortId, CourseCode, LanguageProficiency

#: Japan's 47 prefectures, north to south (JIS X 0401 order).
Prefecture = Literal[
    "hokkaido", "aomori", "iwate", "miyagi", "akita", "yamagata", "fukushima",
    "ibaraki", "tochigi", "gunma", "saitama", "chiba", "tokyo", "kanagawa",
    "niigata", "toyama", "ishikawa", "fukui", "yamanashi", "nagano", "gifu",
    "shizuoka", "aichi", "mie", "shiga", "kyoto", "osaka", "hyogo", "nara",
    "wakayama", "tottori", "shimane", "okayama", "hiroshima", "yamaguchi",
    "tokushima", "kagawa", "ehime", "kochi", "fukuoka", "saga", "nagasaki",
    "kumamoto", "oita", "miyazaki", "kagoshima", "okinawa",
]  # fmt: skip
#: The industries of the SME Basic Act (Article 2): manufacturing, construction,
#: transport and `other` share one set of limits; wholesale, services, retail each have
#: their own.
Industry = Literal[
    "manufacturing", "construction", "transport", "other", "wholesale", "services", "retail"
]
#: Only companies host interns; the others are refused.
OrganisationKind = Literal["company", "government_body", "ngo", "association"]
#: Bounds of the figures (below 2**53, which the chain's canonical JSON can hash exactly).
MAX_YEN = 10**15
MAX_EMPLOYEES = 10**7
CorporateNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{13}$"),
    Field(description="Japan's corporate number (法人番号): 13 digits, its check digit first."),
]


class CandidateEnteredPoolPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId


class MatchConfirmedPayload(Contract):
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: CohortId
    course: CourseCode
    confirmed_at: UtcDatetime = Field(description="When the company made its final decision.")


Party = Literal["office", "intern", "company"]
AgreementStructure = Literal["three_way", "per_pair"]


class CandidateWithdrawnPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    withdrawn_at: UtcDatetime


class AgreementSignatureRecordedPayload(Contract):
    agreement_id: uuid.UUID
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    structure: AgreementStructure = Field(
        description="`three_way`: one agreement of office, intern and company; "
        "`per_pair`: one agreement per pair of them (the online course)."
    )
    party: Party = Field(
        description="Which party signed; the envelope's `actor` is who signed for it (the "
        "intern themself, a user of the company, a member of the office)."
    )
    signed_at: UtcDatetime


class AgreementSignedPayload(Contract):
    agreement_id: uuid.UUID
    match_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    structure: AgreementStructure = Field(
        description="`per_pair`: this is one of the match's three agreements."
    )
    parties: list[Party] = Field(min_length=2, max_length=3)
    signed_at: UtcDatetime = Field(description="When its last party signed.")


class InternshipPlan(Contract):
    content: str = Field(min_length=1, max_length=4000, description="What the intern will do.")
    required_languages: LanguageProficiency = Field(
        description="Minimum levels: a JLPT level means that level or better, a score that "
        "score or more; none given, none required."
    )
    skills: list[str] = Field(max_length=30)


class SmeEligibility(Contract):
    """The SME rule's verdict, naming the rule and its version, and the limits it used."""

    rule_id: str = Field(description="sme_basic_act_article_2")
    rule_version: int = Field(ge=1, le=1000)
    eligible: bool
    industry_group: Literal["manufacturing_and_others", "wholesale", "services", "retail"]
    capital_limit_yen: int = Field(ge=0, le=MAX_YEN)
    employees_limit: int = Field(ge=0, le=MAX_EMPLOYEES)


class CompanyDetails(Contract):
    company_id: uuid.UUID
    cohort_id: CohortId
    legal_name: str = Field(min_length=1, max_length=200)
    corporate_number: CorporateNumber
    organisation_kind: OrganisationKind
    industry: Industry
    prefecture: Prefecture
    capital_yen: int = Field(ge=0, le=MAX_YEN, description="Capital, or total investment, in yen.")
    regular_employees: int = Field(ge=0, le=MAX_EMPLOYEES)
    courses: list[CourseCode] = Field(min_length=1, description="The cohort's courses offered.")
    plan: InternshipPlan
    capacity: int = Field(ge=1, le=50, description="How many interns the company takes.")
    contacts: Sealed = Field(
        description="Sealed with the company's key: a list of {name, email, phone, title}."
    )
    eligibility: SmeEligibility


class RefusalReason(Contract):
    """Why a host is not eligible: a code, the field at fault, words, and what the rule
    saw (figures of the company, never personal data)."""

    code: str = Field(min_length=1, max_length=60)
    field: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=400)
    saw: dict[str, str | Annotated[int, Field(ge=0, le=MAX_YEN)]]


class CompanyRegisteredPayload(CompanyDetails):
    pass


class CompanyRefusedPayload(CompanyDetails):
    reasons: list[RefusalReason] = Field(min_length=1)


class CandidateEnteredPool(Envelope[CandidateEnteredPoolPayload]):
    """A candidate who passed the second interview can now be recommended to companies."""

    event_type: Literal["CandidateEnteredPool"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class MatchConfirmed(Envelope[MatchConfirmedPayload]):
    """A host company chose the candidate; from now on the applicant cannot withdraw."""

    event_type: Literal["MatchConfirmed"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class CandidateWithdrawn(Envelope[CandidateWithdrawnPayload]):
    """The applicant withdrew from the program before any company's final decision:
    out of the pool. Keyed by the applicant."""

    event_type: Literal["CandidateWithdrawn"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class AgreementSignatureRecorded(Envelope[AgreementSignatureRecordedPayload]):
    """One party signed one agreement of a match, under its own identity. Keyed by the
    match."""

    event_type: Literal["AgreementSignatureRecorded"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class AgreementSigned(Envelope[AgreementSignedPayload]):
    """Every party of one agreement of a match has signed it."""

    event_type: Literal["AgreementSigned"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class CompanyRegistered(Envelope[CompanyRegisteredPayload]):
    """A host company registered for a cohort and found eligible (an SME of its
    industry). Keyed by the company's record."""

    event_type: Literal["CompanyRegistered"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class CompanyRefused(Envelope[CompanyRefusedPayload]):
    """A host company's registration was refused (not a company, or not an SME of its
    industry), with the reasons; it may register again with corrected figures."""

    event_type: Literal["CompanyRefused"]
    schema_version: Literal[1]
    producer: Literal["matching"]
