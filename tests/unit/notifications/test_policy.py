"""What the office owes applicants when other services' events arrive, in any order and
any number of times. Run on the in-memory event store, through the real inbox."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import matching, registration, screening
from kernel import actor as acting
from kernel.rules import RuleViolation
from runtime.inbox import Inbox, Outcome, ReceivedRecord
from runtime.mail import Accepted, RetrySchedule
from services.notifications.application.publishing import to_integration_event
from services.notifications.application.service import (
    NotificationsApplication,
    NotSent,
    OutgoingMail,
)
from services.notifications.domain.notification import BECAME_SENDABLE
from tests import envelopes
from tests.envelopes import UNIT_VAULT, upstream

ACTOR = acting.staff("staff-017", role="admin")

_offsets = itertools.count()


@pytest.fixture
def app() -> NotificationsApplication:
    return NotificationsApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"}, personal_data=UNIT_VAULT
    )


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


def test_a_match_is_announced_with_its_course_and_the_agreement_to_sign(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(
        app,
        upstream(matching.MatchConfirmed, aggregate_id=uuid.uuid4(), applicant_id=applicant),
        topic="jip.matching.v1",
    )
    _, match, agreement = app.notifications_of(applicant)
    assert match.template == "match_confirmed"
    assert match.context == {"cohort_id": "FY2025", "course": "B", "confirmed_on": "2025-08-12"}
    assert agreement.template == "agreement_ready"


def test_an_inquiry_answer_goes_to_the_address_that_asked(app):
    inquiry = uuid.uuid4()
    event = upstream(
        registration.InquiryAnswered, aggregate_id=inquiry, inquiry_id=inquiry, answer="Yes."
    )
    deliver(app, event)
    notification = app.get_notification(uuid.uuid5(event.event_id, "inquiry_answer"))
    mail = outgoing(app, notification.id)
    assert mail is not None and mail.to == "budi@example.org"
    assert mail.context == {"inquiry_id": str(inquiry), "answer": "Yes.", "addressee": "inquirer"}


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
    welcome, amended = app.notifications_of(applicant)
    mail = outgoing(app, welcome.id)
    assert mail is not None
    assert (mail.context["given_name"], mail.context["family_name"]) == ("Linh", "Tran")
    # The applicant is told which details changed, never their values.
    assert amended.template == "details_amended"
    assert amended.context == {"cohort_id": "FY2025", "changed_fields": ["family_name"]}


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


# -- screening's decisions ----------------------------------------------------------------
def screening_news(app: NotificationsApplication, model, applicant: uuid.UUID, **payload):
    return deliver(
        app, upstream(model, aggregate_id=applicant, **payload), topic="jip.screening.v1"
    )


def test_each_decision_of_screening_owes_the_applicant_one_message(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    for model in (
        screening.DocumentRequested,
        screening.InterviewScheduled,
        screening.InterviewRescheduled,
        screening.InterviewCancelled,
        screening.CandidateSelected,
    ):
        screening_news(app, model, applicant)
    screening_news(app, screening.DocumentReviewed, applicant, decision="accepted")
    screening_news(
        app, screening.DocumentReviewed, applicant, decision="rejected", reason_code="expired"
    )
    screening_news(app, screening.ApplicantRejected, applicant, stage="selection")

    assert [template for template, _ in owed(app, applicant)] == [
        "application_received",
        "document_requested",
        "interview_scheduled",
        "interview_rescheduled",
        "interview_cancelled",
        "candidate_selected",
        "document_accepted",
        "document_rejected",
        "applicant_rejected",
    ]


def test_the_offices_note_is_stored_sealed_and_opened_only_to_send(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    note = "Please ask your professor to sign the letter."
    screening_news(app, screening.DocumentRequested, applicant, note=note)

    assert note not in stored_text(app)
    requested = app.notifications_of(applicant)[1]
    welcome = app.notifications_of(applicant)[0]
    app.record_delivery(outgoing(app, welcome.id), Accepted(), RetrySchedule())
    mail = outgoing(app, requested.id)
    assert mail is not None and mail.context["note"] == note


def test_a_rejection_after_a_failed_interview_owes_no_second_message(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    screening_news(app, screening.InterviewFailed, applicant, stage="first")
    screening_news(app, screening.ApplicantRejected, applicant, stage="first_interview")

    assert [template for template, _ in owed(app, applicant)] == [
        "application_received",
        "interview_failed",
    ]


# -- personal data: kept sealed, opened to send, restricted, erased ---------------------
def decide(app: NotificationsApplication, notification_id: uuid.UUID):
    """What the mailer would do now, recording a message not to be sent as it would."""
    decision = app.mail_to_send(notification_id, datetime.now(UTC), "jip.example", timedelta(0))
    if isinstance(decision, NotSent):
        app.record_not_sent(notification_id, decision)
    return decision


def stored_text(app: NotificationsApplication) -> str:
    return b"".join(
        n.state for n in app.recorder.select_notifications(start=1, limit=10_000)
    ).decode()


def test_the_address_names_and_answers_are_kept_sealed_and_opened_only_to_send(app):
    applicant, inquiry = uuid.uuid4(), uuid.uuid4()
    deliver(app, registered(applicant))
    answer = upstream(
        registration.InquiryAnswered,
        aggregate_id=inquiry,
        inquiry_id=inquiry,
        answer="You may apply with a certificate of enrollment.",
    )
    deliver(app, answer)

    stored = stored_text(app)
    for clear in (str(applicant) + "@example.org", "Linh", "Nguyen", "budi@", "enrollment"):
        assert clear not in stored
    [welcome] = app.notifications_of(applicant)
    assert outgoing(app, welcome.id).to == f"{applicant}@example.org"
    # Writing the message stored nothing new, in clear or not.
    assert stored_text(app) == stored


def test_no_mail_while_use_is_suspended_and_it_goes_once_resumed(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    [welcome] = app.notifications_of(applicant)

    deliver(app, envelopes.processing_restricted(applicant, use_suspended=True))

    decision = decide(app, welcome.id)
    assert isinstance(decision, NotSent) and not decision.final
    withheld = app.get_notification(welcome.id)
    assert withheld.state == "withheld"
    assert "use suspended" in withheld.not_sent_because
    assert decide(app, welcome.id) is None  # withheld: the mailer has nothing to do
    # A message owed meanwhile is withheld too.
    deliver(app, upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first"))
    passed = app.notifications_of(applicant)[1]
    assert isinstance(decide(app, passed.id), NotSent)

    resumed = envelopes.processing_restricted(applicant, use_suspended=False)
    deliver(app, resumed)

    assert owed(app, applicant) == [
        ("application_received", "pending"),
        ("interview_passed", "pending"),
    ]
    assert outgoing(app, welcome.id).to == f"{applicant}@example.org"
    resumed_events = [e for e in log_of(app) if type(e).__name__ == "Resumed"]
    assert {e.originator_id for e in resumed_events} == {welcome.id, passed.id}
    assert all(type(e) in BECAME_SENDABLE for e in resumed_events)


def test_stopping_third_party_provision_alone_does_not_stop_the_programs_own_mail(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    deliver(app, envelopes.processing_restricted(applicant, third_party_provision_stopped=True))
    [welcome] = app.notifications_of(applicant)
    assert outgoing(app, welcome.id) is not None


def test_an_erased_persons_messages_are_cancelled_and_their_details_forgotten(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    [welcome] = app.notifications_of(applicant)

    UNIT_VAULT.erase(applicant)
    deliver(app, envelopes.subject_erased(applicant))

    assert owed(app, applicant) == [("application_received", "cancelled")]
    assert "erased" in app.get_notification(welcome.id).not_sent_because
    recipient = app.repository.get(applicant)
    assert (recipient.email, recipient.given_name, recipient.family_name) == (None, None, None)
    assert decide(app, welcome.id) is None
    # Events about them read later owe them nothing; they do not fail either.
    interview = upstream(screening.InterviewPassed, aggregate_id=applicant, stage="first")
    assert deliver(app, interview, topic="jip.screening.v1") is Outcome.PROCESSED
    assert owed(app, applicant) == [("application_received", "cancelled")]
    with pytest.raises(RuleViolation):
        app.request_resend(welcome.id, ACTOR, uuid.uuid4())


def test_a_message_whose_key_is_gone_is_cancelled_before_the_erasure_is_read(app):
    applicant = uuid.uuid4()
    deliver(app, registered(applicant))
    [welcome] = app.notifications_of(applicant)

    UNIT_VAULT.erase(applicant)  # the key store first; SubjectErased not read yet

    decision = decide(app, welcome.id)
    assert isinstance(decision, NotSent) and decision.final
    assert owed(app, applicant) == [("application_received", "cancelled")]


def test_an_inquirers_suspension_and_erasure_reach_the_answer_to_them(app):
    inquiry = uuid.uuid4()
    answer = upstream(
        registration.InquiryAnswered, aggregate_id=inquiry, inquiry_id=inquiry, answer="Yes."
    )
    deliver(app, answer)
    notification_id = uuid.uuid5(answer.event_id, "inquiry_answer")
    deliver(
        app,
        envelopes.processing_restricted(inquiry, use_suspended=True, subject_kind="inquirer"),
    )
    assert isinstance(decide(app, notification_id), NotSent)

    UNIT_VAULT.erase(inquiry)
    deliver(app, envelopes.subject_erased(inquiry, subject_kind="inquirer"))

    assert app.get_notification(notification_id).state == "cancelled"
