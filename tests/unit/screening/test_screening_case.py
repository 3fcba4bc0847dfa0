"""Stories of one screening case: opening, documents received, amendments, eligibility
(documents reviewed and interviews: `test_review_and_interviews.py`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from kernel import actor as acting
from services.screening.domain.case import ScreeningCase
from services.screening.domain.eligibility import ApplicantFacts, EligibilityTerms
from tests.unit.screening.test_review_and_interviews import PASSING, accept_all, result, schedule

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

FLOW = uuid.uuid4()
FIRST_AT = datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
SECOND_AT = datetime(2025, 7, 10, 2, 0, tzinfo=UTC)
TERMS = EligibilityTerms(
    cohort_id="FY2025",
    age_reference_date=date(2025, 8, 25),
    min_age=18,
    max_age=40,
    excluded_nationalities=frozenset({"CN"}),
)


def an_open_case(**facts: object) -> ScreeningCase:
    defaults: dict[str, object] = {
        "age_on_reference_date": 25,
        "nationality": "VN",
        "country_of_residence": "VN",
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


def test_documents_are_recorded_once() -> None:
    case = an_open_case()
    diploma = {"document_id": uuid.uuid4(), "kind": "certificate_of_graduation", "sha256": "a"}
    scores = {"document_id": uuid.uuid4(), "kind": "language_score_certificate", "sha256": "b"}

    assert case.receive_documents(
        [diploma], ["language_score_certificate"], FLOW, None, actor=ACTOR
    )
    assert not case.receive_documents(
        [diploma], ["language_score_certificate"], FLOW, None, actor=ACTOR
    )
    assert case.receive_documents([diploma, scores], [], FLOW, None, actor=ACTOR)

    # received, not yet reviewed: screening's own count of what is outstanding
    assert not case.documents_complete
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
    case.assess_eligibility(TERMS, FLOW, None, actor=ACTOR)
    accept_all(case)
    result(case, schedule(case), PASSING)
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
