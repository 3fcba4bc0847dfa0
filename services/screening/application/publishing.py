"""Which of screening's domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import screening as contract
from events.envelope import Envelope, derive_event_id
from runtime.relay import envelope_for
from services.screening.domain.case import ScreeningCase


def to_integration_event(e: Any) -> Envelope | None:
    """Translate a stored domain event; None for events private to screening (the
    cohort's terms, eligibility, documents, amendments, quarantined records)."""
    if isinstance(e, ScreeningCase.Opened):
        return envelope_for(
            contract.ScreeningCaseOpened,
            e,
            {"case_id": e.originator_id, "applicant_id": e.applicant_id, "cohort_id": e.cohort_id},
        )
    if isinstance(e, ScreeningCase.InterviewPassed):
        return envelope_for(
            contract.InterviewPassed,
            e,
            {
                "case_id": e.originator_id,
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "stage": e.stage,
                "language": e.language,
                "interviewed_at": e.interviewed_at,
                "interviewer": e.interviewer,
            },
        )
    if isinstance(e, ScreeningCase.InterviewFailed):
        return envelope_for(
            contract.InterviewFailed,
            e,
            {
                "case_id": e.originator_id,
                "applicant_id": e.originator_id,
                "cohort_id": e.cohort_id,
                "stage": e.stage,
                "interviewed_at": e.interviewed_at,
            },
        )
    case = {"case_id": e.originator_id, "applicant_id": e.originator_id}
    if isinstance(e, ScreeningCase.EligibilityAssessed):
        return envelope_for(
            contract.EligibilityAssessed,
            e,
            {
                **case,
                "cohort_id": e.cohort_id,
                "result": e.result,
                "rule_set": e.rule_set,
                "checks": e.checks,
                "trigger": e.trigger,
                "changed_fields": e.changed_fields,
                "cause_event_id": e.cause_event_id,
                "previous_result": e.previous_result,
            },
        )
    if isinstance(e, ScreeningCase.ApplicantRejected):
        return envelope_for(
            contract.ApplicantRejected,
            e,
            {
                **case,
                "cohort_id": e.cohort_id,
                "stage": e.stage,
                "reasons": e.reasons,
                "rule_set": e.rule_set,
                "note": e.note,
            },
        )
    if isinstance(e, ScreeningCase.Reopened):
        return envelope_for(
            contract.ScreeningCaseReopened,
            e,
            {
                **case,
                "cohort_id": e.cohort_id,
                "reason": e.reason,
                "cause_event_id": _assessment_id(e, e.assessment_version),
            },
        )
    if isinstance(e, ScreeningCase.ReferredToOffice):
        return envelope_for(
            contract.CaseReferredToOffice,
            e,
            {
                **case,
                "cohort_id": e.cohort_id,
                "reasons": e.reasons,
                "cause_event_id": _assessment_id(e, e.assessment_version),
            },
        )
    if isinstance(e, ScreeningCase.CandidateSelected):
        return envelope_for(
            contract.CandidateSelected,
            e,
            {
                **case,
                "cohort_id": e.cohort_id,
                "course_preferences": e.course_preferences,
                "period_preferences": e.period_preferences,
                "internship_interests": e.internship_interests,
                "languages": e.languages,
                "eligibility": {
                    "result": "eligible",
                    "rule_set": e.rule_set,
                    "assessed_event_id": _assessment_id(e, e.assessment_version),
                },
                "interview_totals": e.interview_totals,
                "note": e.note,
            },
        )
    return None


def _assessment_id(e: Any, version: int) -> Any:
    """The published id of the case's assessment recorded at `version`."""
    return derive_event_id("screening", "EligibilityAssessed", e.originator_id, version)
