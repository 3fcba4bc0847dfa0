"""Stories of one screening case: opening, documents received, amendments, eligibility
(documents reviewed and interviews: `test_review_and_interviews.py`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from events.registration import CohortOpened
from kernel import actor as acting
from kernel.rules import RuleViolation
from services.screening.domain.case import ScreeningCase
from services.screening.domain.eligibility import ApplicantFacts, RuleSet, assess
from tests.envelopes import golden
from tests.unit.screening.test_review_and_interviews import PASSING, accept_all, result, schedule

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

FLOW = uuid.uuid4()
FIRST_AT = datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
SECOND_AT = datetime(2025, 7, 10, 2, 0, tzinfo=UTC)
#: The FY2025 call's rule set (the golden `CohortOpened`'s: China excluded).
TERMS = RuleSet.from_cohort(
    "FY2025", date(2025, 8, 25), 18, 40, golden(CohortOpened)["payload"]["rules"]
)


def assessed(case: ScreeningCase, rule_set: RuleSet = TERMS, trigger: str = "registered") -> bool:
    """The case assessed against `rule_set`, as screening's policies do it."""
    return case.assess_eligibility(
        assess(case.applicant_facts, rule_set).as_record(), trigger, uuid.uuid4(), FLOW, ACTOR
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


def recorded_event_names(case: ScreeningCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def test_a_registered_applicant_gets_one_open_case_named_after_them() -> None:
    applicant_id = uuid.uuid4()

    case = ScreeningCase.open(
        applicant_id,
        "FY2025",
        ApplicantFacts(25, "VN", "VN"),
        FLOW,
        None,
        actor=ACTOR,
    )

    assert case.id == applicant_id
    assert case.status == "awaiting_rules"  # until the cohort's rule set is known
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
    assessed(case)
    accept_all(case)
    result(case, schedule(case), PASSING)
    assert not case.needs_review


def test_eligibility_is_recorded_when_it_changes_and_an_ineligible_applicant_is_rejected() -> None:
    case = an_open_case(nationality="CN")

    assert assessed(case)
    assert not assessed(case, trigger="cohort_adopted")

    assert case.eligibility is not None
    assert case.eligibility["result"] == "ineligible"
    [failed] = [c for c in case.eligibility["checks"] if not c["passed"]]
    assert (failed["rule"], failed["saw"]) == ("nationality_not_excluded", "CN")
    assert case.eligibility["rule_set"] == {"id": "jip-fy2025", "version": 1}
    # The decision decides: rejected at stage eligibility, with the unmet rule.
    assert recorded_event_names(case) == ["EligibilityAssessed", "ApplicantRejected"]
    assert case.status == "rejected"
    assert case.rejection is not None and case.rejection["stage"] == "eligibility"
    assert [r["code"] for r in case.rejection["reasons"]] == ["nationality_not_excluded"]
    assert not case.may_proceed()

    # An amendment that makes them eligible reopens the case.
    case.note_amendment(
        uuid.uuid4(), ["nationality"], {"nationality": "VN"}, "typo", "s", FLOW, actor=ACTOR
    )
    assert assessed(case, trigger="amended")

    assert case.eligibility["result"] == "eligible"
    assert recorded_event_names(case) == ["DetailsAmended", "EligibilityAssessed", "Reopened"]
    assert case.status == "open" and case.may_proceed()


def test_an_amendment_is_assessed_again_even_when_nothing_that_matters_changed() -> None:
    case = an_open_case()
    assessed(case)
    case.collect_events()

    assert assessed(case, trigger="amended")
    assert not assessed(case, trigger="rules_revised")
    assert recorded_event_names(case) == ["EligibilityAssessed"]


def test_implausible_facts_go_to_the_office_not_to_a_rejection() -> None:
    case = an_open_case(graduation_date=date(2060, 6, 30))

    assessed(case)

    assert case.eligibility is not None and case.eligibility["result"] == "implausible"
    assert [c["rule"] for c in case.eligibility["checks"]] == ["plausibility"]
    assert case.status == "office_review" and case.rejection is None
    assert not case.may_proceed()


def passed_both_rounds() -> ScreeningCase:
    case = an_open_case()
    assessed(case)
    accept_all(case)
    result(case, schedule(case), PASSING)
    result(case, schedule(case, stage="second"), PASSING)
    case.collect_events()
    return case


def test_the_office_selects_after_both_rounds_with_what_matching_needs() -> None:
    case = an_open_case()
    assessed(case)
    accept_all(case)
    with pytest.raises(RuleViolation) as early:
        case.select(None, FLOW, ACTOR)
    assert early.value.field == "stage"

    case = passed_both_rounds()
    assert case.select("strong candidate", FLOW, ACTOR)
    assert not case.select("strong candidate", FLOW, ACTOR)

    [selected] = case.collect_events()
    assert type(selected).__name__ == "CandidateSelected"
    assert selected.interview_totals == {"first": 15, "second": 15}
    assert selected.rule_set == {"id": "jip-fy2025", "version": 1}
    assert selected.languages == {"jlpt": "N3"}
    assert case.status == "selected"
    # A selected candidate is matching's now: the office cannot simply reject them.
    with pytest.raises(RuleViolation) as refused:
        case.reject([{"code": "other", "text": "changed our mind"}], None, FLOW, ACTOR)
    assert refused.value.conflict


def test_a_selected_candidate_found_ineligible_is_referred_to_the_office() -> None:
    case = passed_both_rounds()
    case.select(None, FLOW, ACTOR)
    case.note_amendment(
        uuid.uuid4(), ["nationality"], {"nationality": "CN"}, "typo", "s", FLOW, actor=ACTOR
    )
    case.collect_events()

    assessed(case, trigger="amended")

    assert recorded_event_names(case) == ["EligibilityAssessed", "ReferredToOffice"]
    assert case.status == "referred" and case.rejection is None
    assert case.referral is not None
    assert case.referral["reasons"][0]["code"] == "nationality_not_excluded"

    # The office decides: a rejection at stage eligibility ends it.
    assert case.reject([{"code": "ineligible", "text": "not eligible"}], None, FLOW, ACTOR)
    assert case.rejection is not None and case.rejection["stage"] == "eligibility"
    assert case.status == "rejected"


def test_the_office_rejects_at_the_step_the_case_is_at() -> None:
    case = an_open_case()
    assessed(case)

    assert case.reject([{"code": "incomplete", "text": "documents never came"}], None, FLOW, ACTOR)
    assert not case.reject(
        [{"code": "incomplete", "text": "documents never came"}], None, FLOW, ACTOR
    )

    assert case.rejection is not None and case.rejection["stage"] == "documents"


def test_documents_are_neither_reviewed_nor_requested_once_screening_is_over() -> None:
    case = an_open_case(nationality="CN")
    [document_id] = [uuid.uuid4()]
    case.receive_documents(
        [{"document_id": document_id, "kind": "certificate_of_enrollment", "sha256": "a"}],
        [],
        FLOW,
        None,
        actor=ACTOR,
    )
    assessed(case)  # rejected: the call excludes CN

    for attempt in (
        lambda: case.review_document(document_id, "accepted", None, None, FLOW, ACTOR),
        lambda: case.request_document("resume", None, None, FLOW, ACTOR),
    ):
        with pytest.raises(RuleViolation) as refused:
            attempt()
        assert (refused.value.field, refused.value.conflict) == ("case", True)
        assert "rejected" in refused.value.reason
