"""The runtime's mail delivery rules: when a deferred message is tried again, and how
one message's delivery is recorded."""

import uuid
from datetime import UTC, datetime, timedelta

from runtime.mail import (
    SENT,
    UNDELIVERABLE,
    Accepted,
    Deferred,
    MailDelivery,
    Refused,
    RetrySchedule,
    delivery_view,
)

T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


def test_a_deferred_message_is_retried_later_and_later_then_given_up():
    schedule = RetrySchedule(
        first=timedelta(minutes=1), factor=2, longest=timedelta(minutes=5), attempts=5
    )
    waits = [schedule.next_attempt(n, T0) for n in range(1, 6)]
    assert [w - T0 for w in waits[:4] if w] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=5),
    ]
    assert waits[4] is None


def test_a_delivery_deferred_then_accepted_is_sent():
    delivery = MailDelivery(message_key=uuid.uuid4(), kind="registration_link", about=None)
    schedule = RetrySchedule(first=timedelta(seconds=10), attempts=3)

    assert delivery.record(Deferred("recipient deferred: SMTP 452"), T0, schedule) == T0 + (
        timedelta(seconds=10)
    )
    assert not delivery.settled and delivery.retry_at is not None
    assert delivery.record(Accepted(), T0, schedule) is None
    assert delivery.state == SENT and delivery.settled


def test_a_delivery_deferred_too_often_becomes_undeliverable_for_the_office():
    applicant = uuid.uuid4()
    delivery = MailDelivery(message_key=uuid.uuid4(), kind="registration_link", about=applicant)
    schedule = RetrySchedule(first=timedelta(seconds=1), attempts=2)
    delivery.record(Deferred("recipient deferred: SMTP 452"), T0, schedule)
    assert delivery.record(Deferred("recipient deferred: SMTP 452"), T0, schedule) is None
    assert delivery.state == UNDELIVERABLE
    seen = delivery_view(delivery)
    assert seen is not None and seen.about == applicant
    assert seen.reason == "deferred 2 times, last: recipient deferred: SMTP 452"


def test_a_refused_delivery_is_settled_at_once():
    delivery = MailDelivery(message_key=uuid.uuid4(), kind="registration_link", about=None)
    assert delivery.record(Refused("recipient refused: SMTP 550"), T0, RetrySchedule()) is None
    assert delivery.state == UNDELIVERABLE and delivery.reason == "recipient refused: SMTP 550"


def test_a_japanese_subject_reads_back_exactly_without_a_leading_space() -> None:
    # An RFC 2047 text folded without knowing its header's name started on a
    # continuation line, which readers decode with a leading space.
    import email
    import email.policy

    from runtime.mail import SmtpMailer

    mailer = SmtpMailer.__new__(SmtpMailer)
    mailer.sender = "JIP 事務局 <office@jip.example>"
    subject = "JIP FY2026-T91476：インターンシップ協定書へのご署名のお願い"
    raw = SmtpMailer.compose(mailer, "a@example.org", subject, "本文", "<x@jip.example>").as_bytes()

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == subject
    assert str(parsed["From"]) == "JIP 事務局 <office@jip.example>"
