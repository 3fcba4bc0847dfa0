"""Events published by the screening service on `jip.screening.v1`, keyed by applicant id
(the case id), so one applicant's screening keeps its order.

Every decision explains itself in its payload: an eligibility assessment names its rule
set and version and, for each rule, the value it saw and whether it passed; a document
review its reason; an interview result its scorecard and pass mark; a correction what it
changed, from what to what, and why. Who acted is the envelope's `actor`. Free text a
staff member writes about a person (a note, a reason in words) is sealed with the
applicant's key, like every personal value (`events/privacy.py`); codes stay in clear.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from events.envelope import Contract, Envelope, IsoDate, UtcDatetime
from events.privacy import Sealed
from events.registration import (
    CohortId,
    CourseCode,
    DocumentKind,
    LanguageProficiency,
)

InterviewStage = Literal["first", "second"]
InterviewLanguage = Literal["local", "english", "japanese"]
InterviewMode = Literal["online", "in_person", "phone"]
#: The steps of screening at which an applicant can be turned down.
RejectionStage = Literal[
    "eligibility", "documents", "first_interview", "second_interview", "selection"
]
EligibilityResult = Literal["eligible", "ineligible", "implausible"]
RuleSetId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,62}$")]
StaffId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
#: Why an assessment was made.
AssessmentTrigger = Literal["registered", "cohort_adopted", "amended", "rules_revised"]


class RuleSetRef(Contract):
    """The rule set a decision applied, as the cohort's terms name it."""

    id: RuleSetId
    version: int = Field(ge=1, le=1_000_000)


class RuleCheck(Contract):
    rule: str = Field(min_length=1, max_length=60, description="The rule's id.")
    version: int = Field(ge=1, le=1_000, description="The version of the rule's wording.")
    saw: Any = Field(
        description="The value the rule checked, as the contract publishes it elsewhere "
        "(codes, the age, levels, years, booleans): never a name, address or date of "
        "birth."
    )
    passed: bool
    reason: str | None = Field(
        default=None, max_length=300, description="Why the rule is not met; null when met."
    )


class Reason(Contract):
    """One reason of a decision: a code a program can act on, and its words."""

    code: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=300, description="No personal data.")


class ScreeningCaseOpenedPayload(Contract):
    case_id: uuid.UUID = Field(description="Equal to the applicant id: one case per applicant.")
    applicant_id: uuid.UUID
    cohort_id: CohortId


class EligibilityAssessedPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    result: EligibilityResult = Field(
        description="`implausible`: the facts cannot be true (a graduation decades ahead, "
        "a participation after the cohort); the case goes to the office to correct them, "
        "and only the plausibility check is reported."
    )
    rule_set: RuleSetRef
    checks: list[RuleCheck] = Field(min_length=1)
    trigger: AssessmentTrigger = Field(description="Why the applicant was assessed (again).")
    changed_fields: list[str] = Field(
        default_factory=list,
        description="For `amended`: the details the amendment changed.",
    )
    cause_event_id: uuid.UUID | None = Field(
        default=None,
        description="The event that made screening assess: the registration, the "
        "amendment, the cohort's terms or their revision.",
    )
    previous_result: EligibilityResult | None = Field(
        default=None, description="The result of the assessment this one replaces."
    )


class ApplicantRejectedPayload(Contract):
    """The applicant's screening ends here; they are told why."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    stage: RejectionStage
    reasons: list[Reason] = Field(min_length=1)
    rule_set: RuleSetRef | None = Field(
        default=None, description="For stage `eligibility`: the rule set that decided."
    )
    note: Sealed | None = Field(default=None, description="Sealed: the office's own words.")


class ScreeningCaseReopenedPayload(Contract):
    """An applicant rejected for eligibility was found eligible after an amendment (or a
    revision of the rules): their screening continues where it stopped."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    reason: Reason
    cause_event_id: uuid.UUID = Field(description="The assessment that reopened the case.")


class CaseReferredToOfficePayload(Contract):
    """A selected (or matched) candidate no longer meets the rules, after an amendment or
    a revision of the rules: the office decides; matching holds them meanwhile."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    reasons: list[Reason] = Field(min_length=1)
    cause_event_id: uuid.UUID = Field(description="The assessment that found them ineligible.")


DocumentRejectionCode = Literal[
    "unreadable", "wrong_kind", "incomplete", "expired", "not_the_applicants", "other"
]


class DocumentReviewedPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    document_id: uuid.UUID
    kind: DocumentKind
    decision: Literal["accepted", "rejected"]
    reason_code: DocumentRejectionCode | None = Field(
        default=None, description="Why a document was rejected; null when accepted."
    )
    note: Sealed | None = Field(default=None, description="Sealed: the reviewer's words.")
    required: list[DocumentKind] = Field(
        description="The kinds this applicant must provide (student, graduate, language "
        "scores, and any the office requested)."
    )
    outstanding: list[DocumentKind] = Field(
        description="The required kinds without an accepted document, after this review."
    )
    documents_complete: bool = Field(
        description="Every required document is in and accepted: interviews may begin."
    )


class DocumentRequestedPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    kind: DocumentKind
    reason_code: Literal["missing", "rejected", "requested_by_office"]
    due_by: IsoDate | None = None
    note: Sealed | None = Field(default=None, description="Sealed: the office's words.")


class InterviewSlot(Contract):
    """When, with whom, in which language and how an interview is held."""

    scheduled_at: UtcDatetime
    duration_minutes: int = Field(ge=5, le=480)
    interviewer: StaffId = Field(description="The interviewer's staff id.")
    language: InterviewLanguage
    mode: InterviewMode
    joining_instructions: str | None = Field(
        default=None,
        max_length=500,
        description="How to join (a meeting link, a room): no personal data.",
    )


class InterviewScheduledPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID
    stage: InterviewStage
    slot: InterviewSlot


class InterviewRescheduledPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID
    stage: InterviewStage
    slot: InterviewSlot = Field(description="The new slot.")
    previous_slot: InterviewSlot
    reason: Reason


class InterviewCancelledPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID
    stage: InterviewStage
    reason: Reason


class InterviewMissedPayload(Contract):
    """The applicant did not attend; the office may schedule the round again or reject."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID
    stage: InterviewStage
    scheduled_at: UtcDatetime


class CriterionScore(Contract):
    criterion: str = Field(min_length=1, max_length=60)
    score: int = Field(ge=0, le=1_000)
    max_score: int = Field(ge=1, le=1_000)


class Scorecard(Contract):
    """An interview's scores on the criteria the cohort's rule set configures; the round
    is passed when `total` reaches `pass_mark`."""

    scores: list[CriterionScore] = Field(min_length=1)
    total: int = Field(ge=0, le=100_000)
    pass_mark: int = Field(ge=0, le=100_000)
    rule_set: RuleSetRef = Field(description="The rule set whose scorecard this is.")


class InterviewResultPayload(Contract):
    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID | None = Field(
        default=None, description="The scheduled interview; null for one recorded unscheduled."
    )
    stage: InterviewStage
    language: InterviewLanguage
    interviewed_at: UtcDatetime
    interviewer: StaffId = Field(description="Staff member's id.")
    scorecard: Scorecard
    note: Sealed | None = Field(default=None, description="Sealed: the interviewer's note.")


class InterviewRecordCorrectedPayload(Contract):
    """A mistaken interview record (a date, a language, an interviewer, a score) is
    corrected by this event, never edited: what changed, from what, to what, and why."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    interview_id: uuid.UUID | None
    stage: InterviewStage
    corrected: dict[str, Any] = Field(
        description="By field (`interviewed_at`, `language`, `interviewer`, `scorecard`, "
        '`slot`): `{"from": old, "to": new}`.'
    )
    reason: Sealed = Field(description="Sealed: why, in the corrector's words.")
    passed_before: bool | None = Field(
        default=None, description="The round's result before the correction, if recorded."
    )
    passed_after: bool | None = Field(
        default=None, description="The round's result after it (a corrected score may flip it)."
    )


class EligibilitySummary(Contract):
    result: Literal["eligible"]
    rule_set: RuleSetRef
    assessed_event_id: uuid.UUID = Field(description="The assessment the selection relied on.")


class CandidateSelectedPayload(Contract):
    """The office selected the candidate: what matching needs to place them."""

    case_id: uuid.UUID
    applicant_id: uuid.UUID
    cohort_id: CohortId
    course_preferences: list[CourseCode] = Field(min_length=1)
    period_preferences: list[str] = Field(default_factory=list)
    internship_interests: list[str] = Field(default_factory=list)
    languages: LanguageProficiency
    eligibility: EligibilitySummary
    interview_totals: dict[InterviewStage, Annotated[int, Field(ge=0, le=100_000)]] = Field(
        description="Each round's scorecard total."
    )
    note: Sealed | None = Field(default=None, description="Sealed: the office's words.")


class ScreeningCaseOpened(Envelope[ScreeningCaseOpenedPayload]):
    """Screening took up a registered applicant: document review can begin."""

    event_type: Literal["ScreeningCaseOpened"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class EligibilityAssessed(Envelope[EligibilityAssessedPayload]):
    """The applicant was assessed against the cohort's rule set (on registration, and
    again on every amendment or revision of the rules)."""

    event_type: Literal["EligibilityAssessed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class ApplicantRejected(Envelope[ApplicantRejectedPayload]):
    """The applicant was turned down at a stage of screening, with the reasons."""

    event_type: Literal["ApplicantRejected"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class ScreeningCaseReopened(Envelope[ScreeningCaseReopenedPayload]):
    """An applicant rejected for eligibility is eligible after all: screening goes on."""

    event_type: Literal["ScreeningCaseReopened"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class CaseReferredToOffice(Envelope[CaseReferredToOfficePayload]):
    """A selected candidate was found ineligible: held until the office decides."""

    event_type: Literal["CaseReferredToOffice"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class DocumentReviewed(Envelope[DocumentReviewedPayload]):
    """Office staff accepted or rejected a submitted document."""

    event_type: Literal["DocumentReviewed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class DocumentRequested(Envelope[DocumentRequestedPayload]):
    """The office asked the applicant for a document (missing, rejected, or one the FAQ
    lets come later: a recommendation, a résumé)."""

    event_type: Literal["DocumentRequested"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewScheduled(Envelope[InterviewScheduledPayload]):
    """An interview round was scheduled: the applicant is invited."""

    event_type: Literal["InterviewScheduled"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewRescheduled(Envelope[InterviewRescheduledPayload]):
    """A scheduled interview moved to a new slot."""

    event_type: Literal["InterviewRescheduled"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewCancelled(Envelope[InterviewCancelledPayload]):
    """A scheduled interview will not take place; the round can be scheduled again."""

    event_type: Literal["InterviewCancelled"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewMissed(Envelope[InterviewMissedPayload]):
    """The applicant did not attend a scheduled interview."""

    event_type: Literal["InterviewMissed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewPassed(Envelope[InterviewResultPayload]):
    """The applicant passed an interview round, by its scorecard. Passing the second
    round makes them eligible for selection, not yet a candidate for matching."""

    event_type: Literal["InterviewPassed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewFailed(Envelope[InterviewResultPayload]):
    """The applicant did not pass an interview round, by its scorecard; their screening
    ends here (they are told by e-mail)."""

    event_type: Literal["InterviewFailed"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class InterviewRecordCorrected(Envelope[InterviewRecordCorrectedPayload]):
    """A mistaken interview record was corrected: who corrected what, and why."""

    event_type: Literal["InterviewRecordCorrected"]
    schema_version: Literal[1]
    producer: Literal["screening"]


class CandidateSelected(Envelope[CandidateSelectedPayload]):
    """The office selected the applicant: they enter matching's pool."""

    event_type: Literal["CandidateSelected"]
    schema_version: Literal[1]
    producer: Literal["screening"]
