"""Stories of matching's policy and commands, with the event store in memory: what it
publishes when screening's results arrive and when the office records decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from events import topics
from events.envelope import Envelope
from kernel import actor as acting
from kernel.actor import Actor
from kernel.rules import RuleViolation
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from services.matching.domain.agreement import PARTIES, agreement_id_for
from services.matching.domain.candidate import Candidate
from services.matching.domain.match import Match
from tests import envelopes
from tests.matching_steps import propose_directly

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

COMPANY_USER = acting.company_user("user-1", uuid.uuid4())

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
NOW = datetime(2025, 8, 1, 9, 0, tzinfo=UTC)


def deliver(app: MatchingApplication, event: Envelope, offset: int) -> Outcome:
    inbox = Inbox(app, accepts=MatchingApplication.consumed_event_types())
    value = event.model_dump_json().encode()
    return inbox.receive(ReceivedRecord(topics.SCREENING, 0, offset, value))


def published(app: MatchingApplication) -> list[Envelope]:
    notifications = app.recorder.select_notifications(start=1, limit=1000)
    translated = (to_integration_event(app.mapper.to_domain_event(n)) for n in notifications)
    return [e for e in translated if e is not None]


@pytest.fixture
def app() -> MatchingApplication:
    return MatchingApplication(IN_MEMORY, clock=lambda: NOW)


def propose(
    app: MatchingApplication, applicant_id: uuid.UUID, company_id: uuid.UUID, course: str
) -> None:
    propose_directly(app, applicant_id, company_id, course, ACTOR, NOW)


def confirm(
    app: MatchingApplication,
    applicant_id: uuid.UUID,
    company_id: uuid.UUID,
    course: str,
    actor: Actor = ACTOR,
) -> tuple[Match, bool]:
    """The company confirms the candidate a round proposed to it."""
    if app.find(applicant_id, Candidate) is not None:
        propose(app, applicant_id, company_id, course)
    return app.confirm_match(applicant_id, company_id, course, actor=actor)


def a_candidate(app: MatchingApplication, offset: int = 0) -> uuid.UUID:
    applicant_id = uuid.uuid4()
    deliver(app, envelopes.candidate_selected(applicant_id), offset)
    return applicant_id


def test_the_offices_selection_puts_the_applicant_in_the_pool_once(
    app: MatchingApplication,
) -> None:
    applicant_id = uuid.uuid4()
    passed = envelopes.candidate_selected(applicant_id)

    # Passing the interviews is not enough: the office selects.
    deliver(app, envelopes.interview_passed(applicant_id, "second", version=10), 0)
    assert published(app) == []
    deliver(app, passed, 1)
    deliver(app, passed, 2)  # published twice by screening's relay

    [entered] = published(app)
    assert entered.event_type == "CandidateEnteredPool"
    assert entered.payload.model_dump() == {"applicant_id": applicant_id, "cohort_id": "FY2025"}
    assert (entered.correlation_id, entered.causation_id) == (
        passed.correlation_id,
        passed.event_id,
    )
    candidate = app.get_candidate(applicant_id)
    assert candidate.status == "in_pool"
    # What matching needs to place them came with the selection.
    assert (candidate.course_preferences, candidate.internship_interests) == (
        ["A", "C"],
        ["manufacturing"],
    )
    assert candidate.languages["jlpt"] == "N3"


def test_a_company_decision_is_recorded_once_and_published(app: MatchingApplication) -> None:
    applicant_id, company_id = a_candidate(app), uuid.uuid4()

    match, confirmed = confirm(app, applicant_id, company_id, "B")
    same, again = confirm(app, applicant_id, company_id, "B")

    assert (confirmed, again) == (True, False)
    assert same.id == match.id
    assert [e.event_type for e in published(app)] == [
        "CandidateEnteredPool",
        "MatchProposed",
        "MatchConfirmed",
    ]
    confirmed_event = published(app)[2]
    assert confirmed_event.aggregate_id == match.id
    assert confirmed_event.payload.confirmed_at == NOW


def test_only_candidates_in_the_pool_can_be_matched(app: MatchingApplication) -> None:
    with pytest.raises(RuleViolation) as broken:
        app.confirm_match(uuid.uuid4(), uuid.uuid4(), "B", actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("applicant_id", True)


def test_a_second_company_cannot_take_a_matched_candidate(app: MatchingApplication) -> None:
    applicant_id = a_candidate(app)
    confirm(app, applicant_id, uuid.uuid4(), "B")

    with pytest.raises(RuleViolation) as broken:
        confirm(app, applicant_id, uuid.uuid4(), "B")

    assert broken.value.conflict


def test_each_signature_is_published_and_the_agreement_once_complete(
    app: MatchingApplication,
) -> None:
    deliver(app, envelopes.cohort_opened(), 0)
    match, _ = confirm(app, a_candidate(app, 1), uuid.uuid4(), "A")
    agreement_id = agreement_id_for(match.id, PARTIES)
    intern = acting.applicant(match.applicant_id)

    app.sign_agreement(match.id, agreement_id, "intern", intern)
    app.sign_agreement(match.id, agreement_id, "company", COMPANY_USER)
    _, completed = app.sign_agreement(match.id, agreement_id, "office", ACTOR)

    assert completed
    *signatures, signed = published(app)[-4:]
    assert [(e.payload.party, e.actor.kind) for e in signatures] == [  # type: ignore[attr-defined]
        ("intern", "applicant"),
        ("company", "company"),
        ("office", "staff"),
    ]
    assert signed.event_type == "AgreementSigned"
    assert signed.payload.structure == "three_way"
    assert signed.payload.parties == list(PARTIES)


def test_a_match_of_a_course_matching_does_not_know_cannot_be_signed(
    app: MatchingApplication,
) -> None:
    match, _ = confirm(app, a_candidate(app), uuid.uuid4(), "B")

    with pytest.raises(RuleViolation) as broken:
        app.sign_agreement(match.id, agreement_id_for(match.id, PARTIES), "office", ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("course", True)


def test_a_withdrawal_takes_the_candidate_out_of_the_pool(app: MatchingApplication) -> None:
    applicant_id = a_candidate(app)

    app.withdraw(applicant_id, acting.applicant(applicant_id))

    withdrawn = published(app)[-1]
    assert withdrawn.event_type == "CandidateWithdrawn"
    assert withdrawn.payload.cohort_id == "FY2025"
    assert app.pool_offered_to_host_companies("FY2025") == []


# -- the rights a person exercised -------------------------------------------------------
COMPANY = uuid.UUID("7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")


def test_a_candidate_whose_use_is_suspended_is_not_matched_until_resumed(
    app: MatchingApplication,
) -> None:
    applicant_id = a_candidate(app)
    deliver(app, envelopes.processing_restricted(applicant_id, use_suspended=True), 1)

    with pytest.raises(RuleViolation) as refused:
        confirm(app, applicant_id, COMPANY, "A")
    assert refused.value.conflict
    assert "use suspended" in refused.value.reason
    assert [e.event_type for e in published(app)] == ["CandidateEnteredPool", "MatchProposed"]

    deliver(app, envelopes.processing_restricted(applicant_id, use_suspended=False), 2)
    _, confirmed = confirm(app, applicant_id, COMPANY, "A")
    assert confirmed


def test_a_suspension_read_before_the_selection_still_holds(
    app: MatchingApplication,
) -> None:
    # Registration's and screening's topics are read in no order between them.
    applicant_id = uuid.uuid4()
    deliver(app, envelopes.processing_restricted(applicant_id, use_suspended=True), 0)
    deliver(app, envelopes.candidate_selected(applicant_id), 1)

    with pytest.raises(RuleViolation):
        confirm(app, applicant_id, COMPANY, "A")


def test_an_erased_candidate_is_never_matched(app: MatchingApplication) -> None:
    applicant_id = a_candidate(app)
    deliver(app, envelopes.subject_erased(applicant_id), 1)
    deliver(app, envelopes.subject_erased(applicant_id), 2)  # read twice: no harm

    with pytest.raises(RuleViolation) as refused:
        confirm(app, applicant_id, COMPANY, "A")
    assert "erased" in refused.value.reason


def test_the_pool_offered_to_host_companies_leaves_out_those_who_said_no(
    app: MatchingApplication,
) -> None:
    offered, stopped, suspended, erased, matched = (a_candidate(app, i) for i in range(5))
    elsewhere = uuid.uuid4()
    in_another_cohort = envelopes.candidate_selected(elsewhere, cohort_id="FY2026")
    deliver(app, in_another_cohort, 5)
    deliver(app, envelopes.processing_restricted(stopped, third_party_provision_stopped=True), 6)
    deliver(app, envelopes.processing_restricted(suspended, use_suspended=True), 7)
    deliver(app, envelopes.subject_erased(erased), 8)
    confirm(app, matched, COMPANY, "A")

    pool = app.pool_offered_to_host_companies("FY2025")

    assert [c.applicant_id for c in pool] == [offered]
    # A stop of third-party provision is not a suspension: the office may still match.
    _, confirmed = confirm(app, stopped, COMPANY, "B")
    assert confirmed


# -- screening's decisions after the selection -------------------------------------------
def test_a_candidate_referred_to_the_office_is_held_until_found_eligible_again(
    app: MatchingApplication,
) -> None:
    applicant_id = a_candidate(app)
    referred = envelopes.case_referred_to_office(applicant_id)
    deliver(app, referred, 1)
    deliver(app, referred, 2)  # read twice: held once

    with pytest.raises(RuleViolation) as refused:
        confirm(app, applicant_id, COMPANY, "A")
    assert refused.value.conflict and "on hold" in refused.value.reason
    assert "nationality_not_excluded" in refused.value.reason
    assert app.pool_offered_to_host_companies("FY2025") == []

    # An ineligible assessment changes nothing; an eligible one releases the hold.
    deliver(app, envelopes.eligibility_assessed(applicant_id, "ineligible", version=15), 3)
    assert app.get_candidate(applicant_id).status == "on_hold"
    deliver(app, envelopes.eligibility_assessed(applicant_id, "eligible", version=16), 4)
    assert app.get_candidate(applicant_id).status == "in_pool"
    assert [c.applicant_id for c in app.pool_offered_to_host_companies("FY2025")] == [applicant_id]
    _, confirmed = confirm(app, applicant_id, COMPANY, "A")
    assert confirmed


def test_a_candidate_the_office_rejects_leaves_the_pool_for_good(app: MatchingApplication) -> None:
    applicant_id = a_candidate(app)
    deliver(app, envelopes.case_referred_to_office(applicant_id), 1)
    deliver(app, envelopes.applicant_rejected(applicant_id, "selection"), 2)
    deliver(app, envelopes.eligibility_assessed(applicant_id, "eligible", version=17), 3)

    assert app.get_candidate(applicant_id).status == "removed"
    with pytest.raises(RuleViolation) as refused:
        confirm(app, applicant_id, COMPANY, "A")
    assert "rejected at selection" in refused.value.reason
    assert app.pool_offered_to_host_companies("FY2025") == []


def test_screening_news_of_someone_never_selected_changes_nothing(
    app: MatchingApplication,
) -> None:
    stranger = uuid.uuid4()
    deliver(app, envelopes.applicant_rejected(stranger, "eligibility"), 0)
    deliver(app, envelopes.case_referred_to_office(stranger), 1)

    assert published(app) == []
    with pytest.raises(RuleViolation):
        app.get_candidate(stranger)
