"""What the office owes applicants when other services' events arrive, in any order and
any number of times. Run on the in-memory event store, through the real inbox."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import matching, registration, screening
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from runtime.mail import Accepted, RetrySchedule
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import NotificationsApplication, OutgoingMail
from services.notifications.domain.notification import BECAME_SENDABLE
from tests.envelopes import upstream

_offsets = itertools.count()


@pytest.fixture
def app() -> NotificationsApplication:
    return NotificationsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})


def deliver(app: NotificationsApplication, event, *, topic: str = "jip.registration.v1"):
    """Hand an event to the service as Kafka would: a new record at the next offset."""
    value = event if isinstance(event, bytes) else event.model_dump_json().encode()
    record = ReceivedRecord(topic, 0, next(_offsets), value)
    return Inbox(app, accepts=NotificationsApplication.consumed_event_types()).receive(record)


def registered(applicant_id: uuid.UUID, **changes) -> registration.ApplicantRegistered:
    return upstream(
        registration.ApplicantRegistered,
        aggregate_id=applicant_id,
        email=f"{applicant_id}@example.org",
        **changes,
    )


def outgoing(app: NotificationsApplication, notification_id: uuid.UUID) -> OutgoingMail | None:
    """The message the mailer would send now, if any."""
    mail = app.mail_to_send(notification_id, datetime.now(UTC), "jip.example", timedelta(0))
    assert mail is None or isinstance(mail, OutgoingMail), mail
    return mail


def log_of(app: NotificationsApplication) -> list:
    return [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]


def owed(app: NotificationsApplication, applicant_id: uuid.UUID) -> list[tuple[str, str]]:
    return [(n.template, n.state) for n in app.notifications_of(applicant_id)]


def test_a_registered_applicant_is_owed_a_welcome_with_the_next_step(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    assert owed(app, applicant) == [("application_received", "pending")]
    [notification] = app.notifications_of(applicant)
    mail = outgoing(app, notification.id)
    assert mail is not None
    assert mail.to == f"{applicant}@example.org"
    assert mail.context["given_name"] == "Linh"
    assert mail.context["education_status"] == "graduated"
    assert mail.message_id == f"<{notification.id}.1@jip.example>"


def test_an_event_published_twice_owes_one_message(app):
    applicant = uuid.uuid4()
    event = registered(applicant)
    assert deliver(app, event) is Outcome.PROCESSED
    assert deliver(app, event) is Outcome.PROCESSED  # same event, another offset
    assert owed(app, applicant) == [("application_received", "pending")]


def test_an_interview_result_read_before_the_registration_waits_then_goes(app):
    applicant = uuid.uuid4()
    # given screening's news arrives first
    deliver(
        app,
        upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first"),
        topic="jip.screening.v1",
    )
    assert owed(app, applicant) == [("interview_passed", "awaiting_recipient")]
    # when the registration arrives
    deliver(app, registered(applicant))
    # then both messages can go, the welcome first
    assert owed(app, applicant) == [
        ("interview_passed", "pending"),
        ("application_received", "pending"),
    ]
    # and the mailer, which follows the log, meets the welcome first
    templates = {n.id: n.template for n in app.notifications_of(applicant)}
    became_sendable = [
        templates[e.originator_id]
        for e in log_of(app)
        if isinstance(e, BECAME_SENDABLE) and e.originator_id in templates
    ]
    assert became_sendable[-2:] == ["application_received", "interview_passed"]


def test_documents_are_announced_complete_once_nothing_is_outstanding_and_only_once(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(app, upstream(registration.DocumentsSubmitted, aggregate_id=applicant))
    assert [t for t, _ in owed(app, applicant)] == ["application_received"]
    deliver(app, upstream(registration.DocumentsSubmitted, aggregate_id=applicant, outstanding=[]))
    # a resume the office asked for later completes nothing new
    deliver(app, upstream(registration.DocumentsSubmitted, aggregate_id=applicant, outstanding=[]))
    assert [t for t, _ in owed(app, applicant)] == ["application_received", "documents_complete"]


def test_an_applicant_who_failed_an_interview_is_told_so(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    failed = upstream(screening.InterviewFailed, aggregate_id=applicant, stage="first")
    deliver(app, failed, topic="jip.screening.v1")
    result = app.notifications_of(applicant)[-1]
    assert (result.template, result.state) == ("interview_failed", "pending")
    assert result.context == {"cohort_id": "FY2025", "stage": "first"}


def test_a_match_is_announced_with_its_course(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(matching.MatchConfirmed, aggregate_id=uuid.uuid4(), applicant_id=applicant),
        topic="jip.matching.v1",
    )
    match = app.notifications_of(applicant)[-1]
    assert match.template == "match_confirmed"
    assert match.context == {"cohort_id": "FY2025", "course": "B", "confirmed_on": "2025-08-20"}


def test_an_inquiry_answer_goes_to_the_address_that_asked(app):
    inquiry = uuid.uuid4()
    event = upstream(
        registration.InquiryAnswered, aggregate_id=inquiry, inquiry_id=inquiry, answer="Yes."
    )
    deliver(app, event)
    notification = app.get_notification(uuid.uuid5(event.event_id, "inquiry_answer"))
    mail = outgoing(app, notification.id)
    assert mail is not None and mail.to == "budi@example.org"
    assert mail.context == {"inquiry_id": str(inquiry), "answer": "Yes."}


def test_an_amended_name_is_used_in_later_messages(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(
            registration.ApplicantDetailsAmended,
            aggregate_id=applicant,
            changed_fields=["family_name"],
            changes={"family_name": "Tran"},
        ),
    )
    [welcome] = app.notifications_of(applicant)
    mail = outgoing(app, welcome.id)
    assert mail is not None
    assert (mail.context["given_name"], mail.context["family_name"]) == ("Linh", "Tran")


def test_events_that_concern_no_applicant_message_owe_nothing(app):
    applicant = uuid.uuid4()
    preregistered = upstream(registration.ApplicantPreregistered, aggregate_id=applicant)
    assert deliver(app, preregistered) is Outcome.IGNORED
    opened = upstream(screening.ScreeningCaseOpened, aggregate_id=applicant)
    assert deliver(app, opened, topic="jip.screening.v1") is Outcome.IGNORED
    assert app.notifications_of(applicant) == []


def test_a_malformed_record_is_set_aside_and_owes_nothing(app):
    assert deliver(app, b"{not json") is Outcome.QUARANTINED
    broken = registered(uuid.uuid4()).model_dump(mode="json")
    broken["payload"]["email"] = "not an address"
    assert deliver(app, json.dumps(broken).encode()) is Outcome.QUARANTINED


def test_only_the_fact_of_sending_is_published_never_the_address_or_name(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    [welcome] = app.notifications_of(applicant)
    mail = outgoing(app, welcome.id)
    assert mail is not None
    app.record_delivery(mail, Accepted(), RetrySchedule())
    sent = app.repository.get(welcome.id)
    assert outgoing(app, welcome.id) is None  # nothing left to send
    published = [to_integration_event(e) for e in log_of(app)]
    [envelope] = [e for e in published if e is not None and e.aggregate_id == welcome.id]
    assert envelope.event_type == "NotificationSent"
    assert envelope.payload.template == "application_received"
    assert envelope.payload.applicant_id == applicant
    assert envelope.payload.sent_at == sent.sent_at
    raw = envelope.model_dump_json()
    assert "example.org" not in raw and "Linh" not in raw and "Nguyen" not in raw
