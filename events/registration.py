"""Events published by the registration service on `jip.registration.v1`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import MISSING, ConfigDict, Field, StringConstraints, model_validator

from events.envelope import Contract, Envelope, IsoDate, UtcDatetime
from events.privacy import Sealed

#: A call for applicants: `FY` and the fiscal year whose internships it fills, with an
#: optional suffix for a further call in the same year (e.g. "FY2025", "FY2025-B").
CohortId = Annotated[str, StringConstraints(pattern=r"^FY\d{4}(-[A-Z0-9]{1,8})?$")]
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
    "secondary",
    "junior_college",
    "technical_college",
    "bachelor",
    "master",
    "doctorate",
    "other_higher",
]
#: The levels of higher education (junior college, technical college, university or
#: another higher-education institution) the calls require; "secondary" is not one.
HIGHER_EDUCATION_LEVELS: tuple[EducationLevel, ...] = (
    "junior_college",
    "technical_college",
    "bachelor",
    "master",
    "doctorate",
    "other_higher",
)
JlptLevel = Literal["N1", "N2", "N3", "N4", "N5"]
CefrLevel = Literal["A1", "A2", "B1", "B2", "C1", "C2"]


#: A fiscal year of the program (FY2025 is April 2025 to March 2026).
FiscalYear = Annotated[int, Field(ge=2000, le=2100)]


class Education(Contract):
    institution: str = Field(min_length=1, max_length=200)
    level: EducationLevel
    status: Literal["enrolled", "graduated"]
    field_of_study: str = Field(min_length=1, max_length=200)
    graduation_date: IsoDate = Field(description="Expected date if still enrolled.")


class LanguageProficiency(Contract):
    jlpt: JlptLevel | None = None
    ielts: float | None = Field(default=None, ge=0, le=9, multiple_of=0.5)
    toefl_ibt: int | None = Field(default=None, ge=0, le=120)
    toeic: int | None = Field(default=None, ge=10, le=990)
    cefr: CefrLevel | None = None


#: The language a person is written to in: English or Japanese.
PreferredLanguage = Literal["en", "ja"]


class ApplicantPreregisteredPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    email: Sealed = Field(description="Sealed: the normalised (trimmed, lower-case) address.")


#: An age in whole years on a cohort's reference date (what eligibility needs instead of
#: the date of birth).
Age = Annotated[int, Field(ge=0, le=150)]


class ApplicantRegisteredPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    email: Sealed = Field(description="Sealed: the address, as pre-registered.")
    given_name: Sealed = Field(description="Sealed: at most 100 characters.")
    family_name: Sealed = Field(description="Sealed: at most 100 characters.")
    date_of_birth: Sealed = Field(description="Sealed: YYYY-MM-DD.")
    age_on_reference_date: Age = Field(
        description="Whole years of age on the cohort's `age_reference_date`: what "
        "eligibility needs, so that no subscriber needs the date of birth."
    )
    nationality: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    country_of_residence: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    education: Education
    languages: LanguageProficiency
    course_preferences: list[CourseCode] = Field(min_length=1)
    period_preferences: list[str] = Field(default_factory=list)
    internship_interests: list[str] = Field(default_factory=list)
    previous_participation_years: list[FiscalYear] = Field(
        default_factory=list, description="Fiscal years of any earlier JIP participation."
    )
    declares_no_final_job_commitment: bool
    privacy_policy_consented_at: UtcDatetime
    language: PreferredLanguage = Field(
        default="en",
        description="The language the applicant is written to in (`en` or `ja`); "
        "registrations recorded before it was asked read as `en`.",
    )


class SubmittedDocument(Contract):
    document_id: uuid.UUID
    kind: DocumentKind
    filename: Sealed = Field(
        description="Sealed: the uploaded file's name (it often names the person)."
    )
    content_type: str
    size_bytes: int = Field(gt=0, le=2**30, description="At most 1 GiB.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DocumentsSubmittedPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    documents: list[SubmittedDocument] = Field(min_length=1)
    outstanding: list[DocumentKind] = Field(
        description="Kinds still required after this submission; empty when complete."
    )


class ApplicantPreregistered(Envelope[ApplicantPreregisteredPayload]):
    """An e-mail address was pre-registered for a cohort; a registration link was issued."""

    event_type: Literal["ApplicantPreregistered"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class ApplicantRegistered(Envelope[ApplicantRegisteredPayload]):
    """The applicant completed the full registration form through their link."""

    event_type: Literal["ApplicantRegistered"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class DocumentsSubmitted(Envelope[DocumentsSubmittedPayload]):
    """The applicant uploaded one or more documents; checksums are in the payload."""

    event_type: Literal["DocumentsSubmitted"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class Course(Contract):
    code: CourseCode
    name: str = Field(min_length=1, max_length=100)
    mode: Literal["online", "in_person", "visiting"]
    daily_allowance_yen: int = Field(ge=0, le=1_000_000, description="Per day of activity.")
    completion_allowance_yen: int = Field(
        default=0,
        ge=0,
        le=100_000_000,
        description="Paid only to interns who complete the whole course.",
    )
    agreement_structure: Literal["three_way", "per_pair"] | None = Field(
        default=None,
        description="The agreements a match on this course signs: `three_way` (office, "
        "intern and company in one) or `per_pair` (one per pair of them). None: by the "
        "course's mode (online: `per_pair`, in Japan: `three_way`).",
    )


class EnglishMinimums(Contract):
    """The lowest accepted score of each English test; a test left out (null) is not
    accepted. Configured per cohort by the office."""

    ielts: float | None = Field(default=None, ge=0, le=9, multiple_of=0.5)
    toefl_ibt: int | None = Field(default=None, ge=0, le=120)
    toeic: int | None = Field(default=None, ge=10, le=990)
    cefr: CefrLevel | None = None


class LanguageRequirement(Contract):
    """JLPT `min_jlpt` or better (N1 is the best), or (the `jlpt_or_english` rule) and
    (the `jlpt_and_english` variant of one call's FAQ) an English score at least one of
    `english_minimums`."""

    rule: Literal["jlpt_or_english", "jlpt_and_english"] = "jlpt_or_english"
    min_jlpt: JlptLevel = "N3"
    english_minimums: EnglishMinimums = Field(default_factory=EnglishMinimums)


class ScorecardCriterion(Contract):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=100)
    max_score: int = Field(ge=1, le=100)


class Scorecard(Contract):
    """What an interview round scores; the total of the scores must reach `pass_mark`."""

    criteria: list[ScorecardCriterion] = Field(min_length=1, max_length=20)
    pass_mark: int = Field(ge=0, le=2_000)

    @model_validator(mode="after")
    def _consistent(self) -> Scorecard:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("criteria ids must be unique")
        if self.pass_mark > sum(c.max_score for c in self.criteria):
            raise ValueError("pass_mark must not exceed the total of the criteria's max_score")
        return self


def _default_scorecard(language_criterion: str) -> Scorecard:
    """Four criteria of 0 to 5 points, passed with 12 of 20 (screening scores a cohort
    announced before scorecards were configured the same way)."""
    return Scorecard(
        criteria=[
            ScorecardCriterion(id="motivation", label="Motivation", max_score=5),
            ScorecardCriterion(id="communication", label="Communication", max_score=5),
            ScorecardCriterion(id="language", label=language_criterion, max_score=5),
            ScorecardCriterion(id="fit_with_program", label="Fit with the program", max_score=5),
        ],
        pass_mark=12,
    )


class InterviewScorecards(Contract):
    """The first round (local language, English or Japanese) and the second (Japanese
    or English)."""

    first: Scorecard = Field(
        default_factory=lambda: _default_scorecard("Language of the interview")
    )
    second: Scorecard = Field(default_factory=lambda: _default_scorecard("Japanese or English"))


class FiscalYearRange(Contract):
    """Fiscal years `from_fy` to `to_fy`, both included."""

    from_fy: FiscalYear
    to_fy: FiscalYear

    @model_validator(mode="after")
    def _ordered(self) -> FiscalYearRange:
        if self.from_fy > self.to_fy:
            raise ValueError("from_fy must not be after to_fy")
        return self


#: A rule set's id: lower-case letters, digits, dots and hyphens (e.g. "jip-fy2025").
RuleSetId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")]


class CohortRules(Contract):
    """The eligibility rules of one call for applicants, as a versioned rule set: a
    change is a new version (`CohortRulesRevised`), and every assessment names the
    version it used. The whole rule set travels in the log, so that a decision can be
    explained from the log alone."""

    rule_set_id: RuleSetId
    rule_set_version: int = Field(
        ge=1, le=10_000, description="1 at opening; each revision adds one."
    )
    recipient_list: str = Field(
        min_length=1,
        max_length=40,
        description="The edition of the OECD DAC List of ODA Recipients in force for the "
        "cohort (`events.reference.dac_list`), e.g. 'oecd-dac-2024-2025'.",
    )
    recipient_countries: list[CountryCode] = Field(
        min_length=1,
        description="The edition's recipients, sorted: filled in by registration from the "
        "shipped edition (the office never types it).",
    )
    excluded_nationalities: list[CountryCode] = Field(
        default_factory=list, description="Recipients the call leaves out (e.g. CN)."
    )
    residents_of_japan_may_apply: bool = False
    language: LanguageRequirement = Field(default_factory=LanguageRequirement)
    accepted_education_levels: list[EducationLevel] = Field(
        default_factory=lambda: list(HIGHER_EDUCATION_LEVELS), min_length=1
    )
    earlier_participation_excluded: FiscalYearRange | None = Field(
        default=None,
        description="Who took part in the program in these fiscal years may not apply.",
    )
    interviews: InterviewScorecards = Field(default_factory=InterviewScorecards)


class CohortOpenedPayload(Contract):
    cohort_id: CohortId
    applications_open_at: UtcDatetime
    applications_close_at: UtcDatetime
    age_reference_date: IsoDate = Field(description="Age is computed as of this date.")
    min_age: int = Field(ge=15, le=99)
    max_age: int = Field(ge=15, le=99)
    results_by: IsoDate
    courses: list[Course] = Field(min_length=1)
    rules: CohortRules


class CohortRulesRevisedPayload(Contract):
    cohort_id: CohortId
    rules: CohortRules = Field(
        description="The whole new rule set; its `rule_set_version` is the previous one's plus one."
    )


#: The details the office may amend (on the applicant's request), by their name in
#: `ApplicantRegistered`.
AmendableField = Literal[
    "given_name",
    "family_name",
    "date_of_birth",
    "nationality",
    "country_of_residence",
    "education",
    "languages",
    "language",
]


class AmendedDetails(Contract):
    """The new values of the details that changed, each as in `ApplicantRegistered`
    (names and date of birth sealed); a detail that is absent did not change. A value is
    never null: a detail is corrected, not erased."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"minProperties": 1})

    given_name: Sealed | MISSING = MISSING
    family_name: Sealed | MISSING = MISSING
    date_of_birth: Sealed | MISSING = MISSING
    nationality: CountryCode | MISSING = MISSING
    country_of_residence: CountryCode | MISSING = MISSING
    education: Education | MISSING = MISSING
    languages: LanguageProficiency | MISSING = MISSING
    language: PreferredLanguage | MISSING = MISSING

    @model_validator(mode="after")
    def _names_at_least_one(self) -> AmendedDetails:
        if not self.model_fields_set:
            raise ValueError("name at least one detail that changes")
        return self


class ApplicantDetailsAmendedPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    changed_fields: list[AmendableField] = Field(
        min_length=1, description="The names of the details in `changes`, sorted."
    )
    changes: AmendedDetails = Field(description="The new values, by registration field name.")
    age_on_reference_date: Age | None = Field(
        default=None,
        description="The applicant's age on the cohort's reference date after the change, "
        "when the date of birth changed; null otherwise.",
    )
    reason: Sealed = Field(description="Sealed: why, in the staff member's words.")
    amended_by: str = Field(min_length=1, max_length=100, description="Staff member's id.")


class InquiryReceivedPayload(Contract):
    """The sender is the data subject, under the inquiry's id."""

    inquiry_id: uuid.UUID
    name: Sealed
    email: Sealed
    country: CountryCode
    sender_kind: Literal["individual", "company"]
    inquiry_type: str
    text: Sealed = Field(
        description="Sealed: at most 1,024 bytes as the inquiry form counts them (a "
        "full-width character two, any other one)."
    )


class InquiryAnsweredPayload(Contract):
    inquiry_id: uuid.UUID
    email: Sealed
    answer: Sealed
    answered_by: str


SubjectKind = Literal["applicant", "inquirer"]
PrivacyRight = Literal[
    "disclosure",
    "amendment",
    "addition",
    "suspension_of_use",
    "resumption_of_use",
    "stop_third_party_provision",
    "resumption_of_third_party_provision",
    "deletion",
]


class ProcessingRestrictedPayload(Contract):
    """A data subject's restrictions as they stand now (both flags, every time)."""

    subject_id: uuid.UUID = Field(description="The applicant's (or inquiry's) id.")
    subject_kind: SubjectKind
    use_suspended: bool = Field(
        description="No service may use the subject's data: no mail, no screening step, "
        "no matching, until resumed."
    )
    third_party_provision_stopped: bool = Field(
        description="The subject's data may not be provided to third parties (host "
        "companies, METI, embassies): left out of every export to them."
    )
    request_id: uuid.UUID = Field(description="The privacy request this answers.")


class SubjectErasedPayload(Contract):
    """The subject's key was destroyed: every sealed value of theirs, on every topic and
    in every store, now reads as erased. Subscribers forget whatever they derived."""

    subject_id: uuid.UUID
    subject_kind: SubjectKind
    request_id: uuid.UUID
    erased_at: UtcDatetime


class PrivacyRequestAnsweredPayload(Contract):
    """A request under the privacy policy, and its outcome."""

    request_id: uuid.UUID
    subject_id: uuid.UUID
    subject_kind: SubjectKind
    right: PrivacyRight
    requested_by: Literal["subject", "privacy_officer"] = Field(
        description="The subject themself (authenticated), or the privacy officer "
        "recording a request made to the office."
    )
    identity_check: str | None = Field(
        default=None,
        max_length=200,
        description="How the privacy officer verified the requester's identity (e.g. "
        "'passport seen at the office'), never the document's data; null when the "
        "subject asked with their own token.",
    )
    outcome: Literal["done", "refused"]
    outcome_reason: str | None = Field(
        default=None,
        max_length=200,
        description="Why a request was refused, or what was done (no personal data).",
    )


class CohortOpened(Envelope[CohortOpenedPayload]):
    """The office opened a cohort: its calendar, courses and eligibility rules."""

    event_type: Literal["CohortOpened"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class CohortRulesRevised(Envelope[CohortRulesRevisedPayload]):
    """The office revised a cohort's eligibility rules: a new version of its rule set,
    which screening adopts for every case still open. Keyed by the cohort."""

    event_type: Literal["CohortRulesRevised"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class ApplicantDetailsAmended(Envelope[ApplicantDetailsAmendedPayload]):
    """Office staff changed an applicant's details; screening may revisit its decision."""

    event_type: Literal["ApplicantDetailsAmended"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class InquiryReceived(Envelope[InquiryReceivedPayload]):
    """Someone sent the office an inquiry through the form."""

    event_type: Literal["InquiryReceived"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class InquiryAnswered(Envelope[InquiryAnsweredPayload]):
    """The office answered an inquiry; the answer is e-mailed to the sender."""

    event_type: Literal["InquiryAnswered"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class ProcessingRestricted(Envelope[ProcessingRestrictedPayload]):
    """A data subject's use or third-party provision was suspended or resumed. Keyed by
    the subject's aggregate (the applicant), so it is ordered with their events."""

    event_type: Literal["ProcessingRestricted"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class SubjectErased(Envelope[SubjectErasedPayload]):
    """A data subject was erased (crypto-shredded). Keyed by the subject's aggregate."""

    event_type: Literal["SubjectErased"]
    schema_version: Literal[1]
    producer: Literal["registration"]


class PrivacyRequestAnswered(Envelope[PrivacyRequestAnsweredPayload]):
    """A privacy request was answered. Keyed by the request."""

    event_type: Literal["PrivacyRequestAnswered"]
    schema_version: Literal[1]
    producer: Literal["registration"]
