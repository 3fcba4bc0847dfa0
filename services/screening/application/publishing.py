"""Which of screening's domain events are public, and how they read on Kafka."""

from __future__ import annotations

from typing import Any

from events import screening as contract
from events.envelope import Envelope
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
    return None
