"""Stories of a screening case's documents and interviews: what is required, the review,
the office's requests, scheduled rounds scored on a scorecard, and corrections."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kernel import actor as acting
from kernel.rules import NotFound, RuleViolation
from services.screening.domain.case import ScreeningCase
from services.screening.domain.documents import required_documents
from services.screening.domain.eligibility import ApplicantFacts, RuleSet, assess
from services.screening.domain.interviews import scorecard_for
from tests.unit.screening.test_eligibility import FY2025

ACTOR = acting.staff("staff-017", role="admin")
FLOW = uuid.uuid4()
NOW = datetime(2025, 7, 1, 3, 0, tzinfo=UTC)
TERMS = FY2025


def assessed(case: ScreeningCase, rule_set: RuleSet = TERMS) -> None:
    case.assess_eligibility(
        assess(case.applicant_facts, rule_set).as_record(), "registered", None, FLOW, ACTOR
    )


PASSING = {"motivation": 4, "communication": 4, "language": 3, "fit_with_program": 4}
FAILING = {"motivation": 2, "communication": 2, "language": 2, "fit_with_program": 2}


def slot(at: datetime = NOW - timedelta(hours=1), language: str = "english") -> dict[str, Any]:
    return {
        "scheduled_at": at.isoformat().replace("+00:00", "Z"),
        "duration_minutes": 30,
        "interviewer": "staff-042",
        "language": language,
        "mode": "online",
        "joining_instructions": None,
    }


def a_case(education_status: str = "graduated", **languages: Any) -> ScreeningCase:
    case = ScreeningCase.open(
        applicant_id=uuid.uuid4(),
        cohort_id="FY2025",
        facts=ApplicantFacts(
            age_on_reference_date=25,
            nationality="VN",
            country_of_residence="VN",
            education_level="bachelor",
            education_status=education_status,
            languages=languages or {"jlpt": "N3"},
        ),
        correlation_id=FLOW,
        causation_id=None,
        actor=ACTOR,
    )
    assessed(case)
    case.collect_events()
    return case


def receive(case: ScreeningCase, *kinds: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in kinds]
    documents = [
        {"document_id": i, "kind": k, "sha256": i.hex * 2} for i, k in zip(ids, kinds, strict=True)
    ]
    case.receive_documents(documents, [], FLOW, None, actor=ACTOR)
    return ids


def accept_all(case: ScreeningCase) -> None:
    for document_id in receive(case, *case.documents_state.outstanding):
        case.review_document(document_id, "accepted", None, None, FLOW, ACTOR)


def schedule(case: ScreeningCase, stage: str = "first", **kw: Any) -> uuid.UUID:
    return case.schedule_interview(uuid.uuid4(), stage, slot(**kw), FLOW, ACTOR)


def result(case: ScreeningCase, interview_id: uuid.UUID, scores: dict[str, int]) -> bool:
    scored = scorecard_for("FY2025", {}, "first").score(scores)
    return case.record_interview_result(interview_id, NOW, scored, None, NOW, FLOW, ACTOR)


def names(case: ScreeningCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


# -- documents
def test_the_documents_required_depend_on_the_applicant() -> None:
    assert required_documents("enrolled", {"jlpt": None}) == [
        "certificate_of_enrollment",
        "letter_of_recommendation",
    ]
    assert required_documents("graduated", {"ielts": 6.5}, ["resume"]) == [
        "certificate_of_graduation",
        "letter_of_recommendation",
        "language_score_certificate",
        "resume",
    ]


def test_a_rejected_document_is_outstanding_until_a_newer_one_is_accepted() -> None:
    case = a_case()
    diploma, letter, scores = receive(
        case, "certificate_of_graduation", "letter_of_recommendation", "language_score_certificate"
    )
    for document_id in (diploma, letter):
        assert case.review_document(document_id, "accepted", None, None, FLOW, ACTOR)
    assert case.review_document(scores, "rejected", "unreadable", "sealed", FLOW, ACTOR)
    # the same decision again records nothing
    assert not case.review_document(scores, "rejected", "unreadable", None, FLOW, ACTOR)
    assert case.documents_state.outstanding == ["language_score_certificate"]

    [newer] = receive(case, "language_score_certificate")
    with pytest.raises(RuleViolation) as superseded:
        case.review_document(scores, "accepted", None, None, FLOW, ACTOR)
    assert (superseded.value.field, superseded.value.conflict) == ("document_id", True)
    case.review_document(newer, "accepted", None, None, FLOW, ACTOR)

    assert case.documents_complete
    reviewed = [e for e in case.collect_events() if type(e).__name__ == "DocumentReviewed"]
    assert [e.outstanding for e in reviewed] == [  # type: ignore[attr-defined]
        ["letter_of_recommendation", "language_score_certificate"],
        ["language_score_certificate"],
        ["language_score_certificate"],
        [],
    ]


def test_a_rejection_needs_a_reason_and_an_unknown_document_is_named() -> None:
    case = a_case()
    [letter] = receive(case, "letter_of_recommendation")

    with pytest.raises(RuleViolation) as no_reason:
        case.review_document(letter, "rejected", None, None, FLOW, ACTOR)
    with pytest.raises(NotFound) as unknown:
        case.review_document(uuid.uuid4(), "accepted", None, None, FLOW, ACTOR)

    assert no_reason.value.field == "reason_code"
    assert unknown.value.field == "document_id"


def test_a_review_may_change_until_an_interview_rests_on_it() -> None:
    case = a_case()
    accept_all(case)
    letter = case.documents_state.current["letter_of_recommendation"]
    assert case.review_document(uuid.UUID(letter), "rejected", "other", None, FLOW, ACTOR)
    assert case.review_document(uuid.UUID(letter), "accepted", None, None, FLOW, ACTOR)
    schedule(case)

    with pytest.raises(RuleViolation) as stands:
        case.review_document(uuid.UUID(letter), "rejected", "other", None, FLOW, ACTOR)

    assert (stands.value.field, stands.value.conflict) == ("decision", True)


def test_the_office_requests_a_document_which_is_then_required() -> None:
    case = a_case()
    accept_all(case)

    assert case.request_document("resume", date(2025, 7, 31), None, FLOW, ACTOR)
    assert not case.request_document("resume", date(2025, 7, 31), None, FLOW, ACTOR)

    assert case.documents_state.outstanding == ["resume"]
    [requested] = [e for e in case.collect_events() if type(e).__name__ == "DocumentRequested"]
    assert requested.reason_code == "requested_by_office"  # type: ignore[attr-defined]
    with pytest.raises(RuleViolation) as on_file:
        case.request_document("letter_of_recommendation", None, None, FLOW, ACTOR)
    assert on_file.value.conflict


# -- interviews
def test_no_interview_while_a_document_is_outstanding() -> None:
    case = a_case()
    receive(case, "certificate_of_graduation")

    with pytest.raises(RuleViolation) as refused:
        schedule(case)

    assert (refused.value.field, refused.value.conflict) == ("documents", True)
    assert "letter_of_recommendation" in refused.value.reason
    assert "certificate_of_graduation" in refused.value.reason  # received, not accepted


def test_no_interview_for_an_applicant_not_found_eligible() -> None:
    case = a_case()
    accept_all(case)
    # assessed again (a revision of the rules, say): too old now, and rejected
    assessed(case, replace(TERMS, max_age=20))

    with pytest.raises(RuleViolation) as refused:
        schedule(case)

    assert refused.value.field == "eligibility"


def test_two_scored_rounds_make_a_passed_case() -> None:
    case = a_case()
    accept_all(case)
    case.collect_events()

    first = schedule(case)
    assert schedule(case) == first  # the same slot again: the same interview
    with pytest.raises(RuleViolation) as too_early:
        schedule(case, "second")
    assert too_early.value.field == "stage"
    assert result(case, first, PASSING)
    assert not result(case, first, PASSING)
    second = schedule(case, "second", language="japanese")
    result(case, second, PASSING)

    assert case.status == "passed"
    assert names(case) == [
        "InterviewScheduled",
        "InterviewPassed",
        "InterviewScheduled",
        "InterviewPassed",
    ]
    assert case.round_result("first")["scorecard"]["total"] == 15  # type: ignore[index]


def test_scores_are_checked_against_the_scorecard_naming_the_criterion() -> None:
    card = scorecard_for("FY2025", {}, "first")
    for scores, field in (
        ({**PASSING, "language": 6}, "scores.language"),
        ({k: v for k, v in PASSING.items() if k != "motivation"}, "scores.motivation"),
        ({**PASSING, "charm": 3}, "scores.charm"),
    ):
        with pytest.raises(RuleViolation) as broken:
            card.score(scores)
        assert broken.value.field == field
    assert card.score(FAILING)["passed"] is False


def test_a_cohorts_own_scorecard_decides_and_is_named_with_its_version() -> None:
    rules = {
        "rule_set_id": "jip-fy2025",
        "rule_set_version": 3,
        "interviews": {
            "second": {
                "criteria": [{"id": "japanese", "label": "Japanese", "max_score": 10}],
                "pass_mark": 7,
            }
        },
    }
    scored = scorecard_for("FY2025", rules, "second").score({"japanese": 6})

    assert scored["passed"] is False
    assert scored["rule_set"] == {"id": "jip-fy2025", "version": 3}
    assert scorecard_for("FY2025", rules, "first").pass_mark == 12  # the default


def test_a_round_is_rescheduled_cancelled_or_missed_and_scheduled_again() -> None:
    case = a_case()
    accept_all(case)
    case.collect_events()
    reason = {"code": "interviewer_unavailable", "text": "The interviewer is ill."}

    first = schedule(case)
    later = slot(NOW + timedelta(days=2))
    assert case.reschedule_interview(first, later, reason, FLOW, ACTOR)
    assert not case.reschedule_interview(first, later, reason, FLOW, ACTOR)
    with pytest.raises(RuleViolation) as not_yet:
        case.note_no_show(first, NOW, FLOW, ACTOR)
    assert not_yet.value.conflict
    assert case.cancel_interview(first, reason, FLOW, ACTOR)
    again = schedule(case)
    assert case.note_no_show(again, NOW, FLOW, ACTOR)
    third = schedule(case)

    assert names(case) == [
        "InterviewScheduled",
        "InterviewRescheduled",
        "InterviewCancelled",
        "InterviewScheduled",
        "InterviewMissed",
        "InterviewScheduled",
    ]
    assert case.interviews[str(first)]["history"][0]["slot"] == slot()
    assert case.interviews[str(third)]["state"] == "scheduled"


def test_a_mistyped_interview_date_is_corrected_by_an_event_that_says_so() -> None:
    case = a_case()
    accept_all(case)
    first = schedule(case)
    result(case, first, PASSING)
    case.collect_events()
    right = NOW - timedelta(days=1)

    assert case.correct_interview_record(
        first, {"interviewed_at": right}, "sealed reason", NOW, FLOW, ACTOR
    )
    assert not case.correct_interview_record(
        first, {"interviewed_at": right}, "sealed reason", NOW, FLOW, ACTOR
    )

    [corrected] = case.collect_events()
    assert corrected.corrected == {  # type: ignore[attr-defined]
        "interviewed_at": {"from": NOW.isoformat(), "to": right.isoformat()}
    }
    assert case.round_result("first")["interviewed_at"] == right  # type: ignore[index]


def test_a_corrected_score_may_flip_a_round_until_a_second_round_exists() -> None:
    case = a_case()
    accept_all(case)
    first = schedule(case)
    result(case, first, FAILING)
    assert case.status == "failed"

    case.correct_interview_record(first, {"scores": PASSING}, "typo", NOW, FLOW, ACTOR)
    assert case.status == "first_interview_passed"
    schedule(case, "second", language="japanese")

    with pytest.raises(RuleViolation) as refused:
        case.correct_interview_record(first, {"scores": FAILING}, "typo", NOW, FLOW, ACTOR)
    assert (refused.value.field, refused.value.conflict) == ("scores", True)
    assert "second round exists" in refused.value.reason
