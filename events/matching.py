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
#: A period of months, both ends included: `2025-10/2025-12`.
MonthInterval = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])/[0-9]{4}-(0[1-9]|1[0-2])$"),
    Field(description="First and last month, included: `YYYY-MM/YYYY-MM`."),
]
#: At most this many entries in one ranked list (a company ranks its acceptable
#: candidates, a candidate the companies they would join).
MAX_RANKED = 200


class RuleRef(Contract):
    """A rule or algorithm, and the version of it that decided."""

    id: str = Field(min_length=1, max_length=80)
    version: int = Field(ge=1, le=1000)


class CandidatePreferencesStatedPayload(Contract):
    applicant_id: uuid.UUID
    cohort_id: CohortId
    companies: list[uuid.UUID] = Field(
        max_length=MAX_RANKED,
        description="Host companies, most wanted first (each once); replaces any earlier "
        "list. Only the pairs the hard constraints allow are used in a round.",
    )
    basis: Literal["own_choice", "interests"] = Field(
        description="`own_choice`: the candidate's ranked choices (entered by them or by "
        "the office); `interests`: ranked from their interests by `ranking` and confirmed "
        "by the office (the actor)."
    )
    ranking: RuleRef | None = Field(
        default=None, description="With `interests`: the ranking that suggested the list."
    )
    scores: list[Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=list,
        max_length=MAX_RANKED,
        description="With `interests`: each company's score, in the list's order.",
    )


class CompanyPreferencesStatedPayload(Contract):
    company_id: uuid.UUID
    cohort_id: CohortId
    candidates: list[uuid.UUID] = Field(
        max_length=MAX_RANKED,
        description="The candidates the company would accept, most wanted first (each "
        "once); replaces any earlier list. A candidate left out is not acceptable to it.",
    )


class RoundCandidate(Contract):
    id: uuid.UUID = Field(description="The applicant.")
    preferences: list[uuid.UUID] = Field(description="Acceptable companies, best first.")


class RoundHost(Contract):
    id: uuid.UUID = Field(description="The company.")
    capacity: int = Field(ge=0, le=50, description="Its places still open in this round.")
    preferences: list[uuid.UUID] = Field(description="Acceptable candidates, best first.")


class RoundInputs(Contract):
    """The instance the algorithm solved, as `python -m services.matching solve` reads
    it: only the pairs acceptable to both sides and allowed by the hard constraints."""

    candidates: list[RoundCandidate]
    hosts: list[RoundHost]


class ExcludedPair(Contract):
    """A pair one side listed that the round could not use, and why (codes such as
    `course_not_offered`, `language_below_requirement`, `period_outside`,
    `declined_before`, `not_listed_by_company`, `not_listed_by_candidate`)."""

    applicant_id: uuid.UUID
    company_id: uuid.UUID
    reasons: list[str] = Field(min_length=1, max_length=10)


class RoundPair(Contract):
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    course: CourseCode


class MatchingRoundCompletedPayload(Contract):
    round_id: uuid.UUID
    cohort_id: CohortId
    round_number: int = Field(ge=1, le=1000, description="1 for the cohort's first round.")
    algorithm: RuleRef = Field(
        description="`deferred_acceptance` (stable, candidate-proposing, with capacities)."
    )
    constraints: RuleRef = Field(description="The hard constraints that chose the pairs.")
    inputs_digest: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="SHA-256 of `inputs` as canonical JSON (sorted keys, no spaces).",
    )
    inputs: RoundInputs
    excluded_pairs: list[ExcludedPair] = Field(default_factory=list)
    matches: list[RoundPair] = Field(description="Every pair proposed (one `MatchProposed` each).")
    unmatched_candidates: list[uuid.UUID]
    blocking_pairs: int = Field(ge=0, le=10**9, description="Checked after solving: 0 when stable.")
    capacity_violations: int = Field(ge=0, le=10**9, description="Checked after solving: 0.")


class MatchProposedPayload(Contract):
    proposal_id: uuid.UUID
    match_id: uuid.UUID
    round_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: CohortId
    course: CourseCode = Field(description="The candidate's best course the company offers.")
    candidate_rank: int = Field(
        ge=1, le=MAX_RANKED, description="The company's place in the candidate's list."
    )
    company_rank: int = Field(
        ge=1, le=MAX_RANKED, description="The candidate's place in the company's list."
    )
    decide_by: UtcDatetime = Field(description="When the company is asked to decide by.")


class MatchDeclinedPayload(Contract):
    proposal_id: uuid.UUID
    match_id: uuid.UUID
    round_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: CohortId
    reason_code: Literal[
        "interview_not_passed", "plan_not_suitable", "no_longer_hosting", "other"
    ] = Field(description="Why, in a word; the company's own words are `note`.")
    note: Sealed | None = Field(
        default=None,
        description="Sealed with the applicant's key: what the company said about them.",
    )
    declined_at: UtcDatetime


class ProposalWithdrawnPayload(Contract):
    proposal_id: uuid.UUID
    match_id: uuid.UUID
    round_id: uuid.UUID
    applicant_id: uuid.UUID
    company_id: uuid.UUID
    cohort_id: CohortId
    reason_code: Literal[
        "candidate_on_hold", "candidate_rejected", "candidate_withdrew", "candidate_restricted"
    ] = Field(
        description="Why the proposal no longer stands: the candidate was found ineligible "
        "after selection (on hold while the office reviews, or rejected), withdrew, or "
        "their data may no longer be used or provided. The company's place reopens."
    )


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
    proposal_id: uuid.UUID | None = Field(
        default=None, description="The round's proposal the company confirmed."
    )
    round_id: uuid.UUID | None = Field(default=None, description="The round that proposed it.")


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
    periods: list[MonthInterval] = Field(
        default_factory=list,
        max_length=12,
        description="When the company can host an intern, as month intervals; none "
        "given, any period of the cohort.",
    )


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
        description="Sealed with the company's key: a list of {name, email, phone, title, "
        "language}; `language` (`en` or `ja`, `ja` when absent) is the one the office "
        "writes to that contact in."
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


class CandidatePreferencesStated(Envelope[CandidatePreferencesStatedPayload]):
    """A candidate's ranked list of host companies, as the next round will use it.
    Keyed by the candidate."""

    event_type: Literal["CandidatePreferencesStated"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class CompanyPreferencesStated(Envelope[CompanyPreferencesStatedPayload]):
    """A host company's ranked list of the candidates it would accept (entered by the
    office or by the company's own user). Keyed by the company's record."""

    event_type: Literal["CompanyPreferencesStated"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class MatchingRoundCompleted(Envelope[MatchingRoundCompletedPayload]):
    """The office ran a matching round for a cohort: the inputs, their digest, the
    algorithm and its version, so that an auditor can run it again and get the same
    pairs. Keyed by the round."""

    event_type: Literal["MatchingRoundCompleted"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class MatchProposed(Envelope[MatchProposedPayload]):
    """A round proposed a candidate to a host company, which now decides (after its own
    interview, if it holds one). Keyed by the match."""

    event_type: Literal["MatchProposed"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class MatchDeclined(Envelope[MatchDeclinedPayload]):
    """The company declined the proposed candidate: back in the pool for the next round,
    without that company. Keyed by the match."""

    event_type: Literal["MatchDeclined"]
    schema_version: Literal[1]
    producer: Literal["matching"]


class ProposalWithdrawn(Envelope[ProposalWithdrawnPayload]):
    """A proposal still awaiting the company's decision was withdrawn (the office is
    told why); the company's place is open again. Keyed by the match."""

    event_type: Literal["ProposalWithdrawn"]
    schema_version: Literal[1]
    producer: Literal["matching"]
