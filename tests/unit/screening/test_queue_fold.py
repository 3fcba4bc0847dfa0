"""The office's screening queue, folded from events screening publishes (hand-made here
from the contract's golden samples): every step a case can wait for, and every ending."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events import screening
from events.envelope import Envelope
from services.screening.adapters.queue_view import WAITING_FOR, QueueRow, Step, fold
from tests.envelopes import upstream

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


class Case:
    """One applicant's case, told event by event; `row` is the queue's line for it."""

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.version = 0
        self.row: QueueRow | None = None

    def step(self, model: type[Envelope[Any]], **payload: Any) -> QueueRow:
        self.version += 1
        event = upstream(model, aggregate_id=self.id, version=self.version, **payload)
        when = START + timedelta(hours=self.version)
        self.row = fold(self.row, Step.of_envelope(event.model_copy(update={"occurred_at": when})))
        assert self.row is not None
        return self.row

    def documents_arrive(self, *document_ids: uuid.UUID) -> QueueRow:
        self.version += 1
        step = Step(
            "DocumentsReceived",
            {"document_ids": [str(i) for i in document_ids]},
            self.id,
            self.version,
            START + timedelta(hours=self.version),
        )
        self.row = fold(self.row, step)
        assert self.row is not None
        return self.row

    @property
    def waiting_for(self) -> str:
        assert self.row is not None
        return self.row.waiting_for

    def assessed(self, result: str) -> QueueRow:
        return self.step(screening.EligibilityAssessed, result=result)

    def reviewed(
        self, document_id: uuid.UUID, complete: bool, decision: str = "accepted"
    ) -> QueueRow:
        return self.step(
            screening.DocumentReviewed,
            document_id=str(document_id),
            decision=decision,
            reason_code=None if decision == "accepted" else "unreadable",
            outstanding=[] if complete else ["letter_of_recommendation"],
            documents_complete=complete,
        )

    def interview(self, model: type[Envelope[Any]], stage: str) -> QueueRow:
        extra: dict[str, Any] = {}
        if model in (screening.InterviewPassed, screening.InterviewFailed):
            extra["language"] = "japanese"
        return self.step(model, stage=stage, **extra)


def opened() -> Case:
    case = Case()
    case.step(screening.ScreeningCaseOpened)
    return case


def ready_for_interviews() -> Case:
    case = opened()
    case.assessed("eligible")
    document = uuid.uuid4()
    case.documents_arrive(document)
    case.reviewed(document, complete=True)
    return case


def test_a_new_case_waits_for_its_cohorts_terms() -> None:
    row = opened().row
    assert row is not None
    assert (row.waiting_for, row.outcome, row.since) == (
        "eligibility",
        None,
        START + timedelta(hours=1),
    )
    assert row.cohort_id == "FY2025" and row.version == 1


def test_an_eligible_applicant_owes_documents_then_the_office_reviews_them() -> None:
    case = opened()
    assert case.assessed("eligible").waiting_for == "documents"
    first, second = uuid.uuid4(), uuid.uuid4()
    assert case.documents_arrive(first, second).waiting_for == "document_review"
    # One reviewed, one still to review: the office still has work.
    assert case.reviewed(first, complete=False).waiting_for == "document_review"
    # Both reviewed and one kind still missing: the applicant owes it.
    assert case.reviewed(second, complete=False).waiting_for == "documents"
    third = uuid.uuid4()
    case.documents_arrive(third)
    assert case.reviewed(third, complete=True).waiting_for == "first_interview_scheduling"


def test_a_rejected_document_or_a_requested_one_is_owed_by_the_applicant() -> None:
    case = opened()
    case.assessed("eligible")
    document = uuid.uuid4()
    case.documents_arrive(document)
    assert case.reviewed(document, complete=False, decision="rejected").waiting_for == "documents"

    ready = ready_for_interviews()
    row = ready.step(
        screening.DocumentRequested,
        kind="letter_of_recommendation",
        reason_code="requested_by_office",
    )
    assert row.waiting_for == "documents"


def test_the_interview_rounds_then_selection() -> None:
    case = ready_for_interviews()
    assert case.interview(screening.InterviewScheduled, "first").waiting_for == "first_interview"
    since = case.row.since if case.row else None
    # Rescheduled: still waiting for the same interview, since it was first scheduled.
    row = case.interview(screening.InterviewRescheduled, "first")
    assert (row.waiting_for, row.since) == ("first_interview", since)
    assert case.interview(screening.InterviewCancelled, "first").waiting_for == (
        "first_interview_scheduling"
    )
    case.interview(screening.InterviewScheduled, "first")
    assert case.interview(screening.InterviewMissed, "first").waiting_for == (
        "first_interview_scheduling"
    )
    case.interview(screening.InterviewScheduled, "first")
    assert case.interview(screening.InterviewPassed, "first").waiting_for == (
        "second_interview_scheduling"
    )
    assert case.interview(screening.InterviewScheduled, "second").waiting_for == "second_interview"
    assert case.interview(screening.InterviewPassed, "second").waiting_for == "selection"
    row = case.step(screening.CandidateSelected)
    assert (row.waiting_for, row.outcome, row.rejection_stage) == ("none", "selected", None)


def test_a_failed_round_ends_screening_and_a_correction_can_undo_it() -> None:
    case = ready_for_interviews()
    case.interview(screening.InterviewScheduled, "first")
    row = case.interview(screening.InterviewFailed, "first")
    assert (row.waiting_for, row.outcome, row.rejection_stage) == (
        "none",
        "failed",
        "first_interview",
    )
    row = case.step(
        screening.InterviewRecordCorrected, stage="first", passed_before=False, passed_after=True
    )
    assert (row.waiting_for, row.outcome, row.rejection_stage) == (
        "second_interview_scheduling",
        None,
        None,
    )


def test_an_ineligible_applicant_is_rejected_and_an_amendment_reopens_the_case() -> None:
    case = opened()
    case.assessed("ineligible")
    row = case.step(screening.ApplicantRejected, stage="eligibility")
    assert (row.waiting_for, row.outcome, row.rejection_stage) == (
        "none",
        "rejected",
        "eligibility",
    )
    case.assessed("eligible")
    row = case.step(screening.ScreeningCaseReopened)
    assert (row.waiting_for, row.outcome, row.rejection_stage) == ("documents", None, None)


def test_implausible_facts_and_a_referred_candidate_wait_for_the_office() -> None:
    case = opened()
    assert case.assessed("implausible").waiting_for == "office_review"
    assert case.assessed("eligible").waiting_for == "documents"

    selected = ready_for_interviews()
    for model, stage in [
        (screening.InterviewScheduled, "first"),
        (screening.InterviewPassed, "first"),
        (screening.InterviewScheduled, "second"),
        (screening.InterviewPassed, "second"),
    ]:
        selected.interview(model, stage)
    selected.step(screening.CandidateSelected)
    selected.assessed("ineligible")
    row = selected.step(screening.CaseReferredToOffice)
    assert (row.waiting_for, row.outcome) == ("office_review", None)
    # The office lets them go on (an amendment made them eligible again) ...
    row = selected.assessed("eligible")
    assert (row.waiting_for, row.outcome) == ("none", "selected")
    # ... or rejects them at selection.
    selected.assessed("ineligible")
    selected.step(screening.CaseReferredToOffice)
    row = selected.step(screening.ApplicantRejected, stage="selection")
    assert (row.waiting_for, row.outcome, row.rejection_stage) == ("none", "rejected", "selection")


def test_the_queue_has_the_steps_these_stories_show() -> None:
    """A step added to the queue needs a story above."""
    reached = {
        "eligibility",
        "office_review",
        "documents",
        "document_review",
        "first_interview_scheduling",
        "first_interview",
        "second_interview_scheduling",
        "second_interview",
        "selection",
        "none",
    }
    assert set(WAITING_FOR) == reached


def test_interviews_under_way_say_where_the_case_is_even_without_an_assessment() -> None:
    case = opened()
    document = uuid.uuid4()
    case.documents_arrive(document)
    # Documents alone do not move a case whose cohort's terms are not known yet
    assert case.reviewed(document, complete=True).waiting_for == "eligibility"
    # but a scheduled interview does.
    assert case.interview(screening.InterviewScheduled, "first").waiting_for == "first_interview"


def test_an_event_applied_again_changes_nothing() -> None:
    case = opened()
    case.assessed("eligible")
    before = case.row
    assert before is not None
    replayed = upstream(screening.ScreeningCaseOpened, aggregate_id=case.id, version=1)
    assert fold(before, Step.of_envelope(replayed)) is before


@pytest.mark.parametrize("document_ids", [[], [uuid.uuid4()]])
def test_documents_arriving_before_the_case_is_known_are_not_placed(document_ids) -> None:
    step = Step(
        "DocumentsReceived",
        {"document_ids": [str(i) for i in document_ids]},
        uuid.uuid4(),
        1,
        START,
    )
    assert fold(None, step) is None
