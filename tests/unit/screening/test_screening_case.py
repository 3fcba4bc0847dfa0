"""Stories of one screening case, from opening to the second interview."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from events.registration import CohortOpened
from kernel import actor as acting
from kernel.rules import RuleViolation
from services.screening.domain.case import ScreeningCase
from services.screening.domain.eligibility import ApplicantFacts, RuleSet
from tests.envelopes import golden

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

FLOW = uuid.uuid4()
FIRST_AT = datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
SECOND_AT = datetime(2025, 7, 10, 2, 0, tzinfo=UTC)
#: The FY2025 call's rule set (the golden `CohortOpened`'s: China excluded).
TERMS = RuleSet.from_cohort(
    "FY2025", date(2025, 8, 25), 18, 40, golden(CohortOpened)["payload"]["rules"]
)


def an_open_case(**facts: object) -> ScreeningCase:
    defaults: dict[str, object] = {
        "age_on_reference_date": 25,
        "nationality": "VN",
        "country_of_residence": "VN",
        "education_level": "bachelor",
        "education_status": "enrolled",
        "languages": {"jlpt": "N3"},
    }
    case = ScreeningCase.open(
        applicant_id=uuid.uuid4(),
        cohort_id="FY2025",
        facts=ApplicantFacts(**{**defaults, **facts}),  # type: ignore[arg-type]
        correlation_id=FLOW,
        causation_id=uuid.uuid4(),
        actor=ACTOR,
    )
    case.collect_events()
    return case


def interview(
    case: ScreeningCase,
    stage: str,
    passed: bool = True,
    *,
    language: str = "japanese",
    at: datetime | None = None,
) -> bool:
    at = at or (FIRST_AT if stage == "first" else SECOND_AT)
    return case.record_interview(stage, language, passed, "staff-017", at, FLOW, actor=ACTOR)


def recorded_event_names(case: ScreeningCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def test_a_registered_applicant_gets_one_open_case_named_after_them() -> None:
    applicant_id = uuid.uuid4()

    case = ScreeningCase.open(
        applicant_id,
        "FY2025",
        ApplicantFacts(date(2000, 1, 1), "VN", "VN"),
        FLOW,
        None,
        actor=ACTOR,
    )

    assert case.id == applicant_id
    assert case.status == "open"
    assert recorded_event_names(case) == ["Opened"]


def test_passing_both_interviews_makes_a_candidate() -> None:
    case = an_open_case()

    interview(case, "first", language="local")
    assert case.status == "first_interview_passed"
    interview(case, "second", language="english")

    assert case.status == "passed"
    assert recorded_event_names(case) == ["InterviewPassed", "InterviewPassed"]


def test_a_second_interview_comes_only_after_a_passed_first() -> None:
    case = an_open_case()

    with pytest.raises(RuleViolation) as broken:
        interview(case, "second")

    assert (broken.value.field, broken.value.conflict) == ("stage", True)
    assert "after a passed first interview" in broken.value.reason
    assert recorded_event_names(case) == []


def test_nothing_is_recorded_after_a_failed_interview() -> None:
    case = an_open_case()
    interview(case, "first", passed=False)
    assert case.status == "failed"

    with pytest.raises(RuleViolation) as broken:
        interview(case, "second")

    assert broken.value.conflict
    assert "ended with a failed interview" in broken.value.reason
    assert recorded_event_names(case) == ["InterviewFailed"]


def test_recording_the_same_result_twice_records_it_once() -> None:
    case = an_open_case()

    assert interview(case, "first") is True
    assert interview(case, "first") is False

    assert recorded_event_names(case) == ["InterviewPassed"]


def test_a_decided_interview_cannot_be_decided_differently() -> None:
    case = an_open_case()
    interview(case, "first")

    with pytest.raises(RuleViolation) as broken:
        interview(case, "first", passed=False)

    assert (broken.value.field, broken.value.conflict) == ("stage", True)
    assert "already recorded" in broken.value.reason


def test_the_second_interview_is_held_in_japanese_or_english() -> None:
    case = an_open_case()
    interview(case, "first", language="local")

    with pytest.raises(RuleViolation) as broken:
        interview(case, "second", language="local")

    assert (broken.value.field, broken.value.conflict) == ("language", False)


def test_the_second_interview_cannot_precede_the_first() -> None:
    case = an_open_case()
    interview(case, "first")

    with pytest.raises(RuleViolation) as broken:
        interview(case, "second", at=FIRST_AT - timedelta(days=1))

    assert broken.value.field == "interviewed_at"


def test_documents_are_recorded_once_until_none_is_outstanding() -> None:
    case = an_open_case()
    diploma = {"document_id": uuid.uuid4(), "kind": "certificate_of_graduation", "sha256": "a"}
    scores = {"document_id": uuid.uuid4(), "kind": "language_score_certificate", "sha256": "b"}

    assert case.receive_documents(
        [diploma], ["language_score_certificate"], FLOW, None, actor=ACTOR
    )
    assert not case.documents_complete
    assert not case.receive_documents(
        [diploma], ["language_score_certificate"], FLOW, None, actor=ACTOR
    )
    assert case.receive_documents([diploma, scores], [], FLOW, None, actor=ACTOR)

    assert case.documents_complete
    assert [d["kind"] for d in case.documents] == [
        "certificate_of_graduation",
        "language_score_certificate",
    ]
    assert recorded_event_names(case) == ["DocumentsReceived", "DocumentsReceived"]


def test_an_amendment_flags_the_case_for_review_until_the_next_decision() -> None:
    case = an_open_case()
    amendment = uuid.uuid4()

    noted = case.note_amendment(
        amendment, ["nationality"], {"nationality": "KH"}, "typo", "staff-017", FLOW, actor=ACTOR
    )
    again = case.note_amendment(
        amendment, ["nationality"], {"nationality": "KH"}, "typo", "staff-017", FLOW, actor=ACTOR
    )

    assert (noted, again) == (True, False)
    assert case.needs_review
    assert case.applicant_facts.nationality == "KH"
    interview(case, "first")
    assert not case.needs_review


def test_eligibility_is_recorded_only_when_its_outcome_changes() -> None:
    case = an_open_case(nationality="CN")

    case.assess_eligibility(TERMS, FLOW, None, actor=ACTOR)
    case.assess_eligibility(TERMS, FLOW, None, actor=ACTOR)

    assert case.eligibility is not None
    assert case.eligibility["findings"] == [
        {
            "rule": "nationality_not_excluded",
            "version": 1,
            "reason": "citizens of CN are not eligible in FY2025",
        }
    ]
    assert case.eligibility["eligible"] is False
    # The decision says what it saw and by which rules, without the date of birth.
    assert case.eligibility["age_on_reference_date"] == 25
    assert {"rule": "age_within_cohort_range", "version": 2} in case.eligibility["rules"]
    assert recorded_event_names(case) == ["EligibilityAssessed"]

    case.note_amendment(
        uuid.uuid4(), ["nationality"], {"nationality": "VN"}, "typo", "s", FLOW, actor=ACTOR
    )
    case.assess_eligibility(TERMS, FLOW, None, actor=ACTOR)

    assert case.eligibility["eligible"] is True
    assert case.eligibility["findings"] == []
