"""Every command records who gave it: each event a command causes carries its actor
(the applicant, the office, or the service itself reacting to another's event), so an
auditor can tell an applicant's own step from the office's decision."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from events import topics
from events.envelope import Envelope
from kernel import actor as acting
from runtime.application import ServiceApplication
from runtime.inbox import Inbox, ReceivedRecord
from runtime.mail import Accepted, RetrySchedule
from services.matching.application.service import MatchingApplication
from services.matching.domain.agreement import PARTIES, agreement_id_for
from services.matching.domain.candidate import Candidate
from services.matching.domain.match import match_id_for
from services.notifications.application.service import NotificationsApplication, OutgoingMail
from services.screening.application.service import ScreeningApplication
from tests import envelopes
from tests.in_memory import registration_in_memory
from tests.matching_steps import propose_directly
from tests.screening_steps import hold_interviews

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
T0 = datetime(2025, 5, 10, 9, 0, tzinfo=UTC)
FLOW = uuid.uuid4()
OFFICE = acting.staff("staff-017", role="admin")


def actors_since(app: ServiceApplication, position: int) -> dict[str, Any]:
    """What each event recorded after `position` names as its actor, by event name."""
    actors = {}
    for notification in app.recorder.select_notifications(start=position + 1, limit=1000):
        event = app.mapper.to_domain_event(notification)
        # The address claim is internal bookkeeping.
        if type(event).__name__ not in {"Claimed", "Released", "Reclaimed"}:
            actors[type(event).__name__] = event.actor
    return actors


def position(app: ServiceApplication) -> int:
    return app.recorder.max_notification_id() or 0


def deliver(app: ServiceApplication, event: Envelope, topic: str, offset: int) -> None:
    inbox = Inbox(app, accepts=type(app).consumed_event_types())
    inbox.receive(ReceivedRecord(topic, 0, offset, event.model_dump_json().encode()))


def test_registration_names_the_office_the_applicant_or_the_inquirer() -> None:
    app = registration_in_memory(clock=lambda: T0)
    spec = {
        "cohort_id": "FY2025",
        "applications_open_at": datetime(2025, 5, 1, tzinfo=UTC),
        "applications_close_at": datetime(2025, 7, 1, tzinfo=UTC),
        "age_reference_date": date(2025, 8, 25),
        "min_age": 18,
        "max_age": 40,
        "results_by": date(2025, 8, 31),
        "courses": [{"code": "B", "mode": "online"}],
        "rules": {},
    }

    app.open_cohort(spec, OFFICE, FLOW)
    assert actors_since(app, 0) == {"Opened": OFFICE}

    before = position(app)
    applicant_id, _ = app.preregister("FY2025", "linh@example.org", FLOW)
    applicant = acting.applicant(applicant_id)
    assert applicant == {"kind": "applicant", "id": str(applicant_id)}
    assert actors_since(app, before) == {
        "Preregistered": applicant,
        "RegistrationLinkIssued": applicant,
    }

    before = position(app)
    app.reissue_registration_link("FY2025", "linh@example.org", FLOW)
    app.register(app.registration_link(applicant_id, 2), registration_details(), FLOW)
    assert actors_since(app, before) == {
        "RegistrationLinkIssued": applicant,
        "Registered": applicant,
    }

    before = position(app)
    app.submit_documents(applicant_id, [a_document()], applicant, FLOW)
    app.amend_details(applicant_id, {"family_name": "Tran"}, "Married", OFFICE, FLOW)
    assert actors_since(app, before) == {"DocumentsSubmitted": applicant, "DetailsAmended": OFFICE}

    before = position(app)
    inquiry_id, _ = app.receive_inquiry(an_inquiry(), FLOW)
    app.answer_inquiry(inquiry_id, "Yes, you can.", OFFICE, FLOW)
    assert actors_since(app, before) == {
        "Received": {"kind": "applicant", "id": str(inquiry_id)},
        "Answered": OFFICE,
    }

    # The applicant's own privacy request, and the privacy officer's for them.
    before = position(app)
    app.make_privacy_request(
        applicant_id, "suspension_of_use", "subject", None, None, applicant, FLOW
    )
    assert actors_since(app, before) == {
        "Made": applicant,
        "PrivacyRequestNoted": applicant,
        "ProcessingRestricted": applicant,
        "Answered": applicant,
    }
    before = position(app)
    app.make_privacy_request(
        applicant_id, "deletion", "privacy_officer", "passport seen", None, OFFICE, FLOW
    )
    assert actors_since(app, before) == {
        "Made": OFFICE,
        "PrivacyRequestNoted": OFFICE,
        "Erased": OFFICE,
        "Answered": OFFICE,
    }


def test_screening_acts_on_its_own_when_it_reacts_and_for_the_office_when_told() -> None:
    app = ScreeningApplication(IN_MEMORY)
    applicant_id = uuid.uuid4()

    deliver(app, envelopes.cohort_opened(), topics.REGISTRATION, 0)
    deliver(app, envelopes.applicant_registered(applicant_id), topics.REGISTRATION, 1)
    actors = actors_since(app, 0)
    assert actors and all(actor == acting.system("screening") for actor in actors.values())

    before = position(app)
    hold_interviews(app, applicant_id, OFFICE, ("first",), at=T0)
    assert actors_since(app, before) == {
        "DocumentsReceived": OFFICE,
        "DocumentReviewed": OFFICE,
        "InterviewScheduled": OFFICE,
        "InterviewPassed": OFFICE,
    }


def match_company(app: MatchingApplication, applicant_id: uuid.UUID) -> uuid.UUID:
    return app.get_match(match_id_for(applicant_id)).company_id


def test_matching_acts_on_its_own_when_it_reacts_and_for_the_office_when_told() -> None:
    app = MatchingApplication(IN_MEMORY, clock=lambda: T0)
    applicant_id = uuid.uuid4()

    deliver(app, envelopes.candidate_selected(applicant_id), topics.SCREENING, 0)
    assert actors_since(app, 0) == {"EnteredPool": acting.system("matching")}

    deliver(app, envelopes.cohort_opened(), topics.REGISTRATION, 0)
    before = position(app)
    propose_directly(app, applicant_id, uuid.uuid4(), "A", OFFICE)
    match, _ = app.confirm_match(applicant_id, match_company(app, applicant_id), "A", OFFICE)
    actors = actors_since(app, before)
    assert actors and all(actor == OFFICE for actor in actors.values()), actors

    # Each party signs as itself: the intern, the company's user, the office.
    intern, company = acting.applicant(applicant_id), acting.company_user("u-1", match.company_id)
    agreement_id = agreement_id_for(match.id, PARTIES)
    for party, actor in (("intern", intern), ("company", company), ("office", OFFICE)):
        before = position(app)
        app.sign_agreement(match.id, agreement_id, party, actor)
        recorded = actors_since(app, before)
        assert recorded and all(a == actor for a in recorded.values()), recorded


def test_notifications_act_on_their_own_and_a_resend_is_the_offices() -> None:
    app = NotificationsApplication(IN_MEMORY, personal_data=envelopes.UNIT_VAULT, clock=lambda: T0)
    applicant_id = uuid.uuid4()

    deliver(app, envelopes.applicant_registered(applicant_id), topics.REGISTRATION, 0)
    [notification] = app.notifications_of(applicant_id)
    mail = app.mail_to_send(notification.id, T0, "jip.example", timedelta(minutes=30))
    assert isinstance(mail, OutgoingMail)
    app.record_delivery(mail, Accepted(), RetrySchedule())
    actors = actors_since(app, 0)
    assert actors and all(actor == acting.system("notifications") for actor in actors.values())

    before = position(app)
    app.request_resend(notification.id, OFFICE, FLOW)
    assert actors_since(app, before) == {"ResendRequested": OFFICE}


def registration_details() -> dict[str, Any]:
    return {
        "given_name": "Linh",
        "family_name": "Nguyen",
        "date_of_birth": "2000-04-12",
        "education": {"status": "graduated"},
        "course_preferences": ["B"],
        "privacy_policy_consent": True,
    }


def a_document() -> dict[str, Any]:
    return {
        "document_id": uuid.uuid4(),
        "kind": "resume",
        "filename": "cv.pdf",
        "content_type": "application/pdf",
        "size_bytes": 10,
        "sha256": "0" * 64,
    }


def an_inquiry() -> dict[str, Any]:
    return {
        "privacy_policy_consent": True,
        "name": "Budi",
        "email": "budi@example.org",
        "country": "ID",
        "phone": None,
        "sender_kind": "individual",
        "inquiry_type": "other",
        "text": "Can I apply?",
    }


def test_an_event_recorded_before_actors_were_recorded_still_replays() -> None:
    app = MatchingApplication(IN_MEMORY, clock=lambda: T0)
    candidate = Candidate(
        applicant_id=uuid.uuid4(),
        cohort_id="FY2025",
        passed_screening_at=T0,
        correlation_id=FLOW,
        causation_id=None,
        actor=acting.system("matching"),
    )
    [entered] = candidate.collect_events()
    stored = app.mapper.to_stored_event(entered)
    state = json.loads(stored.state)
    del state["actor"]  # as recorded before this change
    app.recorder.insert_events([replace(stored, state=json.dumps(state).encode())])

    replayed = app.repository.get(candidate.id)

    assert replayed.cohort_id == "FY2025"
    [read_back] = app.events.get(candidate.id)
    assert read_back.actor == {"kind": "system", "id": "unrecorded"}
