"""Stories of matching's policy and commands, with the event store in memory: what it
publishes when screening's results arrive and when the office records decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import topics
from events.envelope import Envelope
from kernel import actor as acting
from kernel.rules import RuleViolation
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from services.matching.application.publishing import to_integration_event
from services.matching.application.service import MatchingApplication
from tests import envelopes

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

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


def a_candidate(app: MatchingApplication, offset: int = 0) -> uuid.UUID:
    applicant_id = uuid.uuid4()
    deliver(app, envelopes.interview_passed(applicant_id, "second"), offset)
    return applicant_id


def test_passing_the_second_interview_puts_the_applicant_in_the_pool_once(
    app: MatchingApplication,
) -> None:
    applicant_id = uuid.uuid4()
    passed = envelopes.interview_passed(applicant_id, "second")

    deliver(app, envelopes.interview_passed(applicant_id, "first", version=2), 0)
    deliver(app, passed, 1)
    deliver(app, passed, 2)  # published twice by screening's relay

    [entered] = published(app)
    assert entered.event_type == "CandidateEnteredPool"
    assert entered.payload.model_dump() == {"applicant_id": applicant_id, "cohort_id": "FY2025"}
    assert (entered.correlation_id, entered.causation_id) == (
        passed.correlation_id,
        passed.event_id,
    )
    assert app.get_candidate(applicant_id).status == "in_pool"


def test_a_company_decision_is_recorded_once_and_published(app: MatchingApplication) -> None:
    applicant_id, company_id = a_candidate(app), uuid.uuid4()

    match, confirmed = app.confirm_match(applicant_id, company_id, "B", actor=ACTOR)
    same, again = app.confirm_match(applicant_id, company_id, "B", actor=ACTOR)

    assert (confirmed, again) == (True, False)
    assert same.id == match.id
    assert [e.event_type for e in published(app)] == ["CandidateEnteredPool", "MatchConfirmed"]
    confirmed_event = published(app)[1]
    assert confirmed_event.aggregate_id == match.id
    assert confirmed_event.payload.confirmed_at == NOW


def test_only_candidates_in_the_pool_can_be_matched(app: MatchingApplication) -> None:
    with pytest.raises(RuleViolation) as broken:
        app.confirm_match(uuid.uuid4(), uuid.uuid4(), "B", actor=ACTOR)

    assert (broken.value.field, broken.value.conflict) == ("applicant_id", True)


def test_a_second_company_cannot_take_a_matched_candidate(app: MatchingApplication) -> None:
    applicant_id = a_candidate(app)
    app.confirm_match(applicant_id, uuid.uuid4(), "B", actor=ACTOR)

    with pytest.raises(RuleViolation) as broken:
        app.confirm_match(applicant_id, uuid.uuid4(), "B", actor=ACTOR)

    assert broken.value.conflict


def test_the_signed_agreement_is_published_once(app: MatchingApplication) -> None:
    match, _ = app.confirm_match(a_candidate(app), uuid.uuid4(), "A", actor=ACTOR)
    parties = ["office", "intern", "company"]

    app.sign_agreement(match.id, parties, NOW + timedelta(days=3), actor=ACTOR)
    _, again = app.sign_agreement(match.id, parties, NOW + timedelta(days=3), actor=ACTOR)

    assert again is False
    signed = published(app)[-1]
    assert signed.event_type == "AgreementSigned"
    assert signed.payload.match_id == match.id
    assert signed.payload.parties == parties
