"""Stories of a candidate, from the pool to a match and its agreement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kernel import actor as acting
from kernel.rules import RuleViolation
from services.matching.domain.candidate import Candidate
from services.matching.domain.match import Match, match_id_for

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

FLOW = uuid.uuid4()
DECIDED_AT = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)
SIGNED_AT = DECIDED_AT + timedelta(days=7)
COMPANY = uuid.uuid4()


def a_candidate_in_the_pool() -> Candidate:
    candidate = Candidate(
        applicant_id=uuid.uuid4(),
        cohort_id="FY2025",
        passed_screening_at=DECIDED_AT - timedelta(days=20),
        correlation_id=FLOW,
        causation_id=uuid.uuid4(),
        actor=ACTOR,
    )
    candidate.collect_events()
    return candidate


def a_confirmed_match() -> Match:
    match = a_candidate_in_the_pool().confirm_match(COMPANY, "B", DECIDED_AT, FLOW, actor=ACTOR)
    match.collect_events()
    return match


def names(*aggregates: Candidate | Match) -> list[str]:
    return [type(e).__name__ for a in aggregates for e in a.collect_events()]


def test_a_company_takes_a_candidate_from_the_pool() -> None:
    candidate = a_candidate_in_the_pool()
    assert candidate.status == "in_pool"

    match = candidate.confirm_match(COMPANY, "B", DECIDED_AT, FLOW, actor=ACTOR)

    assert candidate.status == "matched"
    assert match.id == candidate.match_id == match_id_for(candidate.id)
    assert (match.applicant_id, match.company_id, match.course) == (candidate.id, COMPANY, "B")
    assert names(candidate, match) == ["Matched", "Confirmed"]


def test_a_matched_candidate_cannot_be_matched_again() -> None:
    candidate = a_candidate_in_the_pool()
    candidate.confirm_match(COMPANY, "B", DECIDED_AT, FLOW, actor=ACTOR)

    with pytest.raises(RuleViolation) as broken:
        candidate.confirm_match(uuid.uuid4(), "B", DECIDED_AT, FLOW, actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("applicant_id", True)
    assert "cannot withdraw" in broken.value.reason


def test_the_same_decision_is_recognised_as_already_recorded() -> None:
    candidate = a_candidate_in_the_pool()
    candidate.confirm_match(COMPANY, "B", DECIDED_AT, FLOW, actor=ACTOR)

    assert candidate.is_matched_with(COMPANY, "B")
    assert not candidate.is_matched_with(COMPANY, "A")


def test_the_three_parties_sign_the_agreement_once() -> None:
    match = a_confirmed_match()

    first = match.sign_agreement(["company", "intern", "office"], SIGNED_AT, FLOW, actor=ACTOR)
    again = match.sign_agreement(["office", "intern", "company"], SIGNED_AT, FLOW, actor=ACTOR)

    assert (first, again) == (True, False)
    assert match.agreement == {"parties": ["office", "intern", "company"], "signed_at": SIGNED_AT}
    assert names(match) == ["AgreementSigned"]


def test_a_different_agreement_after_the_signature_is_a_conflict() -> None:
    match = a_confirmed_match()
    match.sign_agreement(["office", "intern", "company"], SIGNED_AT, FLOW, actor=ACTOR)

    with pytest.raises(RuleViolation) as broken:
        match.sign_agreement(["office", "intern"], SIGNED_AT, FLOW, actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("match_id", True)


def test_a_pair_of_parties_may_sign_for_the_online_course() -> None:
    match = a_confirmed_match()

    assert match.sign_agreement(["intern", "office"], SIGNED_AT, FLOW, actor=ACTOR)
    assert match.agreement is not None
    assert match.agreement["parties"] == ["office", "intern"]


@pytest.mark.parametrize(
    ("parties", "field"),
    [
        (["office"], "parties"),
        (["office", "office"], "parties"),
        (["office", "intern", "embassy"], "parties.2"),
    ],
)
def test_an_agreement_has_two_or_three_distinct_parties(parties: list[str], field: str) -> None:
    match = a_confirmed_match()

    with pytest.raises(RuleViolation) as broken:
        match.sign_agreement(parties, SIGNED_AT, FLOW, actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == (field, False)


def test_an_agreement_is_not_signed_before_the_company_decided() -> None:
    match = a_confirmed_match()

    with pytest.raises(RuleViolation) as broken:
        match.sign_agreement(
            ["office", "intern", "company"], DECIDED_AT - timedelta(1), FLOW, actor=ACTOR
        )

    assert broken.value.field == "signed_at"
