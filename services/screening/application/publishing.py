"""Which of screening's domain events are public, and how they read on Kafka."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events import screening as contract
from events.envelope import Envelope, derive_event_id
from runtime.relay import envelope_for
from services.screening.domain.case import ScreeningCase


def to_integration_event(e: Any) -> Envelope[Any] | None:
    """Translate a stored domain event; None for events private to screening (the
    cohort's terms, documents received, amendments, quarantined records)."""
    if isinstance(e, ScreeningCase.Opened):
        return envelope_for(
            contract.ScreeningCaseOpened,
            e,
            {"case_id": e.originator_id, "applicant_id": e.applicant_id, "cohort_id": e.cohort_id},
        )
    translation = _TRANSLATIONS.get(type(e))
    if translation is None:
        return None
    model, payload_of = translation
    payload = payload_of(e)
    return None if payload is None else envelope_for(model, e, payload)


# -- documents and interviews ----------------------------------------------------------
def _case(e: Any) -> dict[str, Any]:
    """What every event of a case names: the case, its applicant (the same id) and the
    cohort."""
    return {"case_id": e.originator_id, "applicant_id": e.originator_id, "cohort_id": e.cohort_id}


def _result(e: Any) -> dict[str, Any] | None:
    if e.scorecard is None:
        # A result recorded before interviews were scheduled and scored: published
        # then, under the contract of the time; it has no scorecard to publish now.
        return None
    return {
        **_case(e),
        "interview_id": e.interview_id,
        "stage": e.stage,
        "language": e.language,
        "interviewed_at": e.interviewed_at,
        "interviewer": e.interviewer,
        "scorecard": e.scorecard,
        "note": e.note,
    }


_DOCUMENTS_AND_INTERVIEWS: dict[
    type[Any], tuple[type[Envelope[Any]], Callable[[Any], dict[str, Any] | None]]
] = {
    ScreeningCase.DocumentReviewed: (
        contract.DocumentReviewed,
        lambda e: {
            **_case(e),
            "document_id": e.document_id,
            "kind": e.kind,
            "decision": e.decision,
            "reason_code": e.reason_code,
            "note": e.note,
            "required": e.required,
            "outstanding": e.outstanding,
            "documents_complete": e.documents_complete,
        },
    ),
    ScreeningCase.DocumentRequested: (
        contract.DocumentRequested,
        lambda e: {
            **_case(e),
            "kind": e.kind,
            "reason_code": e.reason_code,
            "due_by": e.due_by,
            "note": e.note,
        },
    ),
    ScreeningCase.InterviewScheduled: (
        contract.InterviewScheduled,
        lambda e: {**_case(e), "interview_id": e.interview_id, "stage": e.stage, "slot": e.slot},
    ),
    ScreeningCase.InterviewRescheduled: (
        contract.InterviewRescheduled,
        lambda e: {
            **_case(e),
            "interview_id": e.interview_id,
            "stage": e.stage,
            "slot": e.slot,
            "previous_slot": e.previous_slot,
            "reason": e.reason,
        },
    ),
    ScreeningCase.InterviewCancelled: (
        contract.InterviewCancelled,
        lambda e: {
            **_case(e),
            "interview_id": e.interview_id,
            "stage": e.stage,
            "reason": e.reason,
        },
    ),
    ScreeningCase.InterviewMissed: (
        contract.InterviewMissed,
        lambda e: {
            **_case(e),
            "interview_id": e.interview_id,
            "stage": e.stage,
            "scheduled_at": e.scheduled_at,
        },
    ),
    ScreeningCase.InterviewPassed: (contract.InterviewPassed, _result),
    ScreeningCase.InterviewFailed: (contract.InterviewFailed, _result),
    ScreeningCase.InterviewRecordCorrected: (
        contract.InterviewRecordCorrected,
        lambda e: {
            **_case(e),
            "interview_id": e.interview_id,
            "stage": e.stage,
            "corrected": e.corrected,
            "reason": e.reason,
            "passed_before": e.passed_before,
            "passed_after": e.passed_after,
        },
    ),
}


# -- decisions: eligibility, rejection, reopening, referral, selection ------------------
def _assessment_id(e: Any, version: int) -> Any:
    """The published id of the case's assessment recorded at `version`."""
    return derive_event_id("screening", "EligibilityAssessed", e.originator_id, version)


_DECISIONS: dict[type[Any], tuple[type[Envelope[Any]], Callable[[Any], dict[str, Any] | None]]] = {
    ScreeningCase.EligibilityAssessed: (
        contract.EligibilityAssessed,
        lambda e: {
            **_case(e),
            "result": e.result,
            "rule_set": e.rule_set,
            "checks": e.checks,
            "trigger": e.trigger,
            "changed_fields": e.changed_fields,
            "cause_event_id": e.cause_event_id,
            "previous_result": e.previous_result,
        },
    ),
    ScreeningCase.ApplicantRejected: (
        contract.ApplicantRejected,
        lambda e: {
            **_case(e),
            "stage": e.stage,
            "reasons": e.reasons,
            "rule_set": e.rule_set,
            "note": e.note,
        },
    ),
    ScreeningCase.Reopened: (
        contract.ScreeningCaseReopened,
        lambda e: {
            **_case(e),
            "reason": e.reason,
            "cause_event_id": _assessment_id(e, e.assessment_version),
        },
    ),
    ScreeningCase.ReferredToOffice: (
        contract.CaseReferredToOffice,
        lambda e: {
            **_case(e),
            "reasons": e.reasons,
            "cause_event_id": _assessment_id(e, e.assessment_version),
        },
    ),
    ScreeningCase.CandidateSelected: (
        contract.CandidateSelected,
        lambda e: {
            **_case(e),
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
    ),
}

_TRANSLATIONS = {**_DOCUMENTS_AND_INTERVIEWS, **_DECISIONS}
