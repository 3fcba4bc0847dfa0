"""Stories of a candidate, from the pool to a match and its agreement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kernel import actor as acting
from kernel.rules import RuleViolation
from services.matching.domain.agreement import PARTIES, agreement_id_for
from services.matching.domain.candidate import Candidate
from services.matching.domain.courses import CohortCourses
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


ROUND = uuid.uuid4()


def proposed(candidate: Candidate, company: uuid.UUID = COMPANY, course: str = "B") -> Match:
    """A round's proposal of the candidate to the company."""
    return Match(
        applicant_id=candidate.id,
        cohort_id=candidate.cohort_id,
        proposal_id=uuid.uuid4(),
        round_id=ROUND,
        company_id=company,
        course=course,
        candidate_rank=1,
        company_rank=1,
        decide_by=DECIDED_AT + timedelta(days=14),
        correlation_id=FLOW,
        causation_id=None,
        actor=ACTOR,
    )


def matched(candidate: Candidate, company: uuid.UUID = COMPANY, course: str = "B") -> Match:
    """Proposed by a round, then confirmed by the company."""
    match = proposed(candidate, company, course)
    match.confirm(company, DECIDED_AT, actor=ACTOR)
    candidate.record_match(match, actor=ACTOR)
    return match


def a_confirmed_match() -> Match:
    match = matched(a_candidate_in_the_pool())
    match.collect_events()
    return match


def names(*aggregates: Candidate | Match) -> list[str]:
    return [type(e).__name__ for a in aggregates for e in a.collect_events()]


def test_a_company_takes_a_candidate_from_the_pool() -> None:
    candidate = a_candidate_in_the_pool()
    assert candidate.status == "in_pool"

    match = matched(candidate)

    assert candidate.status == "matched"
    assert match.id == candidate.match_id == match_id_for(candidate.id)
    assert (match.applicant_id, match.company_id, match.course) == (candidate.id, COMPANY, "B")
    assert names(candidate, match) == ["Matched", "Proposed", "Confirmed"]


def test_a_matched_candidate_cannot_be_matched_again() -> None:
    candidate = a_candidate_in_the_pool()
    matched(candidate)

    with pytest.raises(RuleViolation) as broken:
        candidate.record_match(proposed(a_candidate_in_the_pool(), uuid.uuid4()), actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("applicant_id", True)
    assert "cannot withdraw" in broken.value.reason


def test_the_same_decision_is_recognised_as_already_recorded() -> None:
    candidate = a_candidate_in_the_pool()
    matched(candidate)

    assert candidate.is_matched_with(COMPANY, "B")
    assert not candidate.is_matched_with(COMPANY, "A")


# -- the agreements, each party signing under its own identity ----------------------------
def sign(match: Match, parties: tuple[str, ...], party: str, structure: str) -> bool:
    return match.sign(
        agreement_id_for(match.id, parties), party, structure, SIGNED_AT, FLOW, actor=ACTOR
    )


def test_the_three_parties_each_sign_the_three_way_agreement() -> None:
    match = a_confirmed_match()

    done = [sign(match, PARTIES, party, "three_way") for party in ("intern", "company", "office")]

    assert done == [False, False, True]
    assert names(match) == [*["SignatureRecorded"] * 3, "AgreementSigned"]
    agreement_id = agreement_id_for(match.id, PARTIES)
    assert match.signed[agreement_id] == {"parties": list(PARTIES), "signed_at": SIGNED_AT}
    assert match.fully_signed


def test_the_online_course_signs_one_agreement_per_pair() -> None:
    match = a_confirmed_match()
    pairs = [("office", "intern"), ("office", "company"), ("intern", "company")]
    assert [parties for _, parties in match.agreements("per_pair")] == pairs

    assert not sign(match, ("office", "intern"), "intern", "per_pair")
    assert sign(match, ("office", "intern"), "office", "per_pair")
    assert not match.fully_signed
    for parties in pairs[1:]:
        for party in parties:
            sign(match, parties, party, "per_pair")

    assert match.fully_signed
    assert names(match).count("AgreementSigned") == 3


def test_the_first_signature_fixes_the_agreements_of_the_match() -> None:
    match = a_confirmed_match()
    sign(match, ("office", "intern"), "intern", "per_pair")

    # a later change of the course's configuration does not change a match being signed
    assert next(p for _, p in match.agreements("three_way")) == ("office", "intern")


def test_a_party_signs_an_agreement_once() -> None:
    match = a_confirmed_match()
    sign(match, PARTIES, "intern", "three_way")

    with pytest.raises(RuleViolation) as broken:
        sign(match, PARTIES, "intern", "three_way")

    assert (broken.value.field, broken.value.conflict) == ("party", True)
    assert "the intern has already signed" in broken.value.reason


def test_a_party_signs_only_an_agreement_it_is_party_to() -> None:
    match = a_confirmed_match()

    with pytest.raises(RuleViolation) as broken:
        sign(match, ("office", "intern"), "company", "per_pair")

    assert broken.value.field == "party"
    assert "the company is not a party to this agreement" in broken.value.reason


def test_an_agreement_of_another_structure_is_not_this_matchs() -> None:
    match = a_confirmed_match()

    with pytest.raises(RuleViolation) as broken:
        sign(match, PARTIES, "office", "per_pair")

    assert broken.value.field == "agreement_id"


def test_an_agreement_is_not_signed_before_the_company_decided() -> None:
    match = proposed(a_candidate_in_the_pool())
    match.collect_events()

    with pytest.raises(RuleViolation) as broken:
        sign(match, PARTIES, "office", "three_way")

    assert (broken.value.field, broken.value.conflict) == ("match_id", True)
    assert "not confirmed" in broken.value.reason
    assert names(match) == []


@pytest.mark.parametrize(
    ("mode", "structure"),
    [("online", "per_pair"), ("in_person", "three_way"), ("visiting", "three_way")],
)
def test_the_course_mode_decides_the_agreements_by_default(mode: str, structure: str) -> None:
    courses = CohortCourses(
        cohort_id="FY2025", courses={"X": mode}, correlation_id=FLOW, causation_id=None, actor=ACTOR
    )

    assert courses.agreement_structure("X") == structure
    assert courses.agreement_structure("Z") is None


# -- the applicant's withdrawal --------------------------------------------------------
def test_a_candidate_may_withdraw_before_they_are_matched() -> None:
    candidate = a_candidate_in_the_pool()

    assert candidate.withdraw(DECIDED_AT, FLOW, actor=ACTOR)
    assert not candidate.withdraw(DECIDED_AT, FLOW, actor=ACTOR)

    assert candidate.status == "withdrawn"
    assert names(candidate) == ["Withdrew"]
    with pytest.raises(RuleViolation) as broken:
        matched(candidate)
    assert "withdrew" in broken.value.reason


def test_once_matched_a_candidate_cannot_withdraw() -> None:
    candidate = a_candidate_in_the_pool()
    matched(candidate)
    candidate.collect_events()

    with pytest.raises(RuleViolation) as broken:
        candidate.withdraw(SIGNED_AT, FLOW, actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("applicant_id", True)
    assert "once matched, an applicant cannot withdraw" in broken.value.reason
    assert candidate.status == "matched" and names(candidate) == []


# -- a round's proposal and the company's decision ------------------------------------
def test_a_company_decides_only_on_its_own_standing_proposal() -> None:
    candidate = a_candidate_in_the_pool()
    match = proposed(candidate)
    other = uuid.uuid4()

    with pytest.raises(RuleViolation) as broken:
        match.confirm(other, DECIDED_AT, actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("company_id", True)
    assert "never proposed" in broken.value.reason
    assert match.confirm(COMPANY, DECIDED_AT, actor=ACTOR)
    assert not match.confirm(COMPANY, DECIDED_AT, actor=ACTOR)
    with pytest.raises(RuleViolation) as again:
        match.decline(COMPANY, "other", None, DECIDED_AT, actor=ACTOR)
    assert "final" in again.value.reason


def test_a_declined_candidate_is_proposed_again_but_never_to_that_company() -> None:
    match = proposed(a_candidate_in_the_pool())
    assert match.decline(COMPANY, "interview_not_passed", None, DECIDED_AT, actor=ACTOR)
    assert not match.decline(COMPANY, "interview_not_passed", None, DECIDED_AT, actor=ACTOR)
    assert match.pending is None and match.declined_by == [COMPANY]

    with pytest.raises(RuleViolation) as broken:
        match.propose_again(
            uuid.uuid4(), uuid.uuid4(), COMPANY, "B", 1, 1, DECIDED_AT, FLOW, actor=ACTOR
        )
    assert "declined" in broken.value.reason

    other = uuid.uuid4()
    match.propose_again(uuid.uuid4(), uuid.uuid4(), other, "A", 2, 1, DECIDED_AT, FLOW, ACTOR)
    assert match.pending is not None and match.pending["company_id"] == other
    assert [type(e).__name__ for e in match.collect_events()] == [
        "Proposed",
        "Declined",
        "ProposedAgain",
    ]


def test_a_standing_proposal_is_withdrawn_once() -> None:
    match = proposed(a_candidate_in_the_pool())

    assert match.withdraw_proposal("candidate_on_hold", FLOW, None, ACTOR)
    assert not match.withdraw_proposal("candidate_on_hold", FLOW, None, ACTOR)
    with pytest.raises(RuleViolation):
        match.confirm(COMPANY, DECIDED_AT, actor=ACTOR)


def test_a_cohort_may_configure_the_agreements_of_a_course() -> None:
    courses = CohortCourses(
        cohort_id="FY2025",
        courses={"A": "in_person", "B": "online"},
        structures={"A": "per_pair"},
        correlation_id=FLOW,
        causation_id=None,
        actor=ACTOR,
    )

    assert courses.agreement_structure("A") == "per_pair"
    assert courses.agreement_structure("B") == "per_pair"
    assert courses.agreement_structure("Z") is None
