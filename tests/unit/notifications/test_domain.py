"""Recipients and notifications, told as the office's messages meet them."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kernel import actor as acting
from kernel.rules import LimitReached, RuleViolation
from services.notifications.domain.notification import (
    AWAITING_RECIPIENT,
    FAILED,
    PENDING,
    RETRYING,
    SENT,
    Notification,
    ResendLimit,
    notification_id_for,
)
from services.notifications.domain.recipient import Recipient

#: Who gives the commands in these tests (any actor will do).
ACTOR = acting.staff("staff-017", role="admin")

T0 = datetime(2025, 7, 10, 9, 0, tzinfo=UTC)
CID = uuid.uuid4()


def a_recipient(known: bool = True) -> Recipient:
    recipient = Recipient(
        applicant_id=uuid.uuid4(), correlation_id=CID, causation_id=None, actor=ACTOR
    )
    if known:
        recipient.identify("linh@example.org", "Linh", "Nguyen", CID, None, actor=ACTOR)
    return recipient


def owed_to(recipient: Recipient, template: str = "interview_passed") -> Notification:
    notification = Notification.request(
        template=template,
        cause_event_id=uuid.uuid4(),
        applicant_id=recipient.id,
        context={"cohort_id": "FY2025", "stage": "first"},
        recipient_known=recipient.known,
        correlation_id=CID,
        causation_id=None,
        actor=ACTOR,
    )
    recipient.note_notification(notification.id, template, CID, None, actor=ACTOR)
    return notification


def test_one_event_owes_at_most_one_message_per_template():
    cause = uuid.uuid4()
    assert notification_id_for(cause, "interview_passed") == notification_id_for(
        cause, "interview_passed"
    )
    assert notification_id_for(cause, "interview_passed") != notification_id_for(
        cause, "match_confirmed"
    )
    recipient = a_recipient()
    notification = Notification.request(
        template="match_confirmed",
        cause_event_id=cause,
        applicant_id=recipient.id,
        context={},
        recipient_known=True,
        correlation_id=CID,
        causation_id=None,
        actor=ACTOR,
    )
    assert notification.id == notification_id_for(cause, "match_confirmed")


def test_a_message_to_a_known_recipient_is_ready_to_send():
    notification = owed_to(a_recipient(known=True))
    assert notification.state == PENDING and notification.sendable


def test_a_message_owed_before_the_registration_waits_for_its_recipient():
    # given an interview result read before the applicant's registration
    recipient = a_recipient(known=False)
    notification = owed_to(recipient)
    assert notification.state == AWAITING_RECIPIENT and not notification.sendable
    assert recipient.awaiting == [notification.id]
    # when the registration arrives
    released = recipient.identify("linh@example.org", "Linh", "Nguyen", CID, None, actor=ACTOR)
    for _ in released:
        notification.release(CID, None, actor=ACTOR)
    # then the message is released, once
    assert released == [notification.id]
    assert recipient.awaiting == []
    assert notification.state == PENDING
    assert recipient.identify("linh@example.org", "Linh", "Nguyen", CID, None, actor=ACTOR) == []


def test_releasing_a_message_that_is_not_waiting_changes_nothing():
    notification = owed_to(a_recipient(known=True))
    version = notification.version
    notification.release(CID, None, actor=ACTOR)
    assert notification.version == version and notification.state == PENDING


def test_every_message_to_an_applicant_is_listed_on_the_recipient():
    recipient = a_recipient()
    first, second = owed_to(recipient, "application_received"), owed_to(recipient)
    assert [n["id"] for n in recipient.notifications] == [first.id, second.id]
    assert recipient.has_requested("application_received")
    assert not recipient.has_requested("match_confirmed")


def test_an_amended_name_is_used_from_then_on_and_an_unchanged_one_records_nothing():
    recipient = a_recipient()
    assert recipient.rename(None, "Tran", CID, None, actor=ACTOR)
    assert (recipient.given_name, recipient.family_name) == ("Linh", "Tran")
    assert not recipient.rename("Linh", "Tran", CID, None, actor=ACTOR)


def test_an_amendment_before_the_registration_waits_for_the_registration():
    recipient = a_recipient(known=False)
    assert not recipient.rename("Linh", "Tran", CID, None, actor=ACTOR)
    assert recipient.family_name is None


def test_a_sent_message_is_not_sent_again_unless_the_office_asks():
    notification = owed_to(a_recipient())
    first_id = notification.next_message_id("jip.example")
    # a repeat after a crash, before the sending was recorded, is the same message
    assert notification.next_message_id("jip.example") == first_id
    notification.record_sent(T0, first_id, actor=ACTOR)
    assert (notification.state, notification.sends, notification.sent_at) == (SENT, 1, T0)
    with pytest.raises(RuleViolation):
        notification.record_sent(T0, first_id, actor=ACTOR)
    # when the office asks for it again
    notification.request_resend("office-staff", CID, actor=ACTOR)
    assert notification.sendable
    assert notification.next_message_id("jip.example") != first_id


def test_the_office_cannot_resend_a_message_that_is_still_on_its_way():
    notification = owed_to(a_recipient(known=False))
    with pytest.raises(RuleViolation) as refused:
        notification.request_resend("office-staff", CID, actor=ACTOR)
    assert refused.value.conflict and "awaiting recipient" in refused.value.reason


def test_a_message_is_resent_at_most_as_often_as_the_limit_allows_in_any_day():
    limit = ResendLimit(resends=2, per=timedelta(hours=24))
    notification = owed_to(a_recipient())
    notification.record_sent(T0, notification.next_message_id("jip.example"), actor=ACTOR)
    for hours in (1, 2):
        notification.request_resend(
            "office-staff", CID, ACTOR, at=T0 + timedelta(hours=hours), limit=limit
        )
        notification.record_sent(T0, notification.next_message_id("jip.example"), actor=ACTOR)
    # a third resend within 24 hours of the first is refused, and the refusal recorded
    with pytest.raises(LimitReached) as refused:
        notification.request_resend(
            "office-staff", CID, ACTOR, at=T0 + timedelta(hours=5), limit=limit
        )
    assert refused.value.retry_after_seconds == 20 * 3600 + 1
    assert "at most 2 times in 24 hours" in refused.value.reason
    assert type(notification.collect_events()[-1]).__name__ == "ResendRefused"
    assert notification.state == SENT
    # once the first resend is a day old, one more is allowed
    notification.request_resend(
        "office-staff", CID, ACTOR, at=T0 + timedelta(hours=25), limit=limit
    )
    assert notification.sendable


def test_a_refused_recipient_sets_the_message_aside_for_the_office_to_resend():
    notification = owed_to(a_recipient())
    notification.record_refused("recipient refused: SMTP 550", T0, actor=ACTOR)
    assert notification.state == FAILED and not notification.sendable
    notification.request_resend("office-staff", CID, actor=ACTOR)
    assert notification.state == PENDING


def test_a_deferred_message_is_retried_on_its_own_schedule_then_counts_as_refused():
    notification = owed_to(a_recipient())
    retry_at = T0 + timedelta(minutes=1)
    notification.record_deferred("recipient deferred: SMTP 452", T0, retry_at, actor=ACTOR)
    assert notification.state == RETRYING and notification.sendable
    assert not notification.due(T0) and notification.due(retry_at)
    # the same message, tried again: same Message-ID (it was never accepted)
    assert notification.next_message_id("jip.example").endswith(".1@jip.example>")
    # no retry left: refused for good, visible to the office with the last reason
    notification.record_deferred("recipient deferred: SMTP 452", retry_at, None, actor=ACTOR)
    assert notification.state == FAILED
    assert notification.failure == "deferred 2 times, last: recipient deferred: SMTP 452"


def test_a_message_goes_either_to_an_applicant_or_to_an_address_never_both():
    with pytest.raises(RuleViolation, match="recipient"):
        Notification.request(
            template="inquiry_answer",
            cause_event_id=uuid.uuid4(),
            applicant_id=uuid.uuid4(),
            address="budi@example.org",
            context={},
            recipient_known=True,
            correlation_id=CID,
            causation_id=None,
            actor=ACTOR,
        )
