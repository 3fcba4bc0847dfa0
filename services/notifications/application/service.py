"""Notifications' application service: the policy that turns other services' events
into notifications owed, and the use cases of the mailer and the office.

The policy records its effects atomically with the Kafka position of the event it read
(the inbox's tracking), and it is idempotent by natural key: a notification's id comes
from its cause's `event_id` and its template, so a re-published event owes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import singledispatchmethod
from typing import Any, Final

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate

from events import matching, registration, screening
from events.envelope import Envelope
from kernel.actor import Actor
from kernel.rules import LimitReached, NotFound
from runtime.application import ServiceApplication
from runtime.mail import (
    Accepted,
    Deferred,
    Delivery,
    RetrySchedule,
    UndeliverableMail,
    undeliverable_of,
)
from services.notifications.domain.notification import (
    DEFAULT_RESEND_LIMIT,
    FAILED,
    Notification,
    ResendLimit,
    notification_id_for,
)
from services.notifications.domain.path import why_not_yet
from services.notifications.domain.recipient import Recipient

Clock = Callable[[], datetime]

#: Milestones announced once per applicant, however often their event recurs (a second
#: registration through a new link, a résumé uploaded after the documents were complete).
ONCE_PER_APPLICANT: Final = frozenset({"application_received", "documents_complete"})


@dataclass(frozen=True)
class OutgoingMail:
    """Everything the mailer needs to write one message; personal data, never logged."""

    notification_id: uuid.UUID
    template: str
    # Kept out of repr: a traceback or a debug print must not show them.
    to: str = field(repr=False)
    message_id: str
    context: dict[str, Any] = field(repr=False)
    #: Whose message it is: one person's messages go one at a time, in order.
    lane: uuid.UUID
    #: As loaded to decide, so that recording the outcome need not read it again.
    notification: Notification = field(repr=False, compare=False)


@dataclass(frozen=True)
class Held:
    """The message is owed but must wait (`why`); look again at `until` or, when
    None, once another message of `lane` is settled."""

    why: str
    until: datetime | None
    lane: uuid.UUID


class NotificationsApplication(ServiceApplication):
    name = "notifications"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        resend_limit: ResendLimit = DEFAULT_RESEND_LIMIT,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.resend_limit = resend_limit

    # -- the policy --------------------------------------------------------------------
    # Each reaction loads what it touches through `_Effects`, which records it all with
    # the Kafka position when the reaction ends.
    @singledispatchmethod
    def policy(self, envelope: Envelope, processing_event: ProcessingEvent[uuid.UUID]) -> None:
        """Other services' events that owe no message are not consumed."""

    @policy.register
    def when_applicant_registered_then_welcome(
        self, e: registration.ApplicantRegistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            recipient = fx.recipient(p.applicant_id)
            released = recipient.identify(
                str(p.email),
                p.given_name,
                p.family_name,
                fx.correlation_id,
                fx.causation_id,
                fx.actor,
            )
            fx.request_for_applicant(
                recipient,
                "application_received",
                cohort_id=p.cohort_id,
                education_status=p.education.status,
            )
            # Messages owed before the address was known (e.g. an interview result read
            # before the registration) go now, after the welcome.
            for notification_id in released:
                notification = fx.load(notification_id)
                notification.release(fx.correlation_id, fx.causation_id, fx.actor)

    @policy.register
    def when_name_amended_then_use_the_new_name(
        self, e: registration.ApplicantDetailsAmended, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            named = p.changes.model_dump(include={"given_name", "family_name"})
            given, family = named.get("given_name"), named.get("family_name")
            if not (isinstance(given, str) or isinstance(family, str)):
                return
            if self.find(p.applicant_id, Recipient) is None:
                return  # the registration, when it arrives, brings the current name
            recipient = fx.recipient(p.applicant_id)
            recipient.rename(
                given if isinstance(given, str) else None,
                family if isinstance(family, str) else None,
                fx.correlation_id,
                fx.causation_id,
                fx.actor,
            )

    @policy.register
    def when_documents_complete_then_confirm(
        self, e: registration.DocumentsSubmitted, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            if p.outstanding:
                return
            fx.request_for_applicant(
                fx.recipient(p.applicant_id), "documents_complete", cohort_id=p.cohort_id
            )

    @policy.register
    def when_interview_passed_then_congratulate(
        self, e: screening.InterviewPassed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "interview_passed",
                cohort_id=p.cohort_id,
                stage=p.stage,
                language=p.language,
                interviewed_on=p.interviewed_at.date().isoformat(),
            )

    @policy.register
    def when_interview_failed_then_inform(
        self, e: screening.InterviewFailed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            # Domain step 6: applicants who fail any step are told by e-mail.
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "interview_failed",
                cohort_id=p.cohort_id,
                stage=p.stage,
            )

    @policy.register
    def when_match_confirmed_then_announce_it(
        self, e: matching.MatchConfirmed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "match_confirmed",
                cohort_id=p.cohort_id,
                course=p.course,
                confirmed_on=p.confirmed_at.date().isoformat(),
            )

    @policy.register
    def when_inquiry_answered_then_forward_the_answer(
        self, e: registration.InquiryAnswered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_address(
                str(p.email), "inquiry_answer", inquiry_id=str(p.inquiry_id), answer=p.answer
            )

    # -- the mailer's use cases --------------------------------------------------------
    def mail_to_send(
        self, notification_id: uuid.UUID, now: datetime, message_domain: str, patience: timedelta
    ) -> OutgoingMail | Held | None:
        """The message to send now for this notification; or why and until when it
        waits (its retry time, or a message of an earlier step of the same person);
        or None when nothing is owed (sent, refused, still waiting for its recipient)."""
        notification: Notification = self.repository.get(notification_id)
        if not notification.sendable:
            return None
        lane = notification.applicant_id or notification.id
        if not notification.due(now):
            assert notification.retry_at is not None
            return Held("retries later", notification.retry_at, lane)
        context = dict(notification.context)
        if notification.applicant_id is not None:
            recipient: Recipient = self.repository.get(notification.applicant_id)
            assert recipient.email is not None, "a pending notification has a known recipient"
            others = [
                self.repository.get(n["id"]).on_path()
                for n in recipient.notifications
                if n["id"] != notification.id
            ]
            wait = why_not_yet(notification.on_path(), others, now, patience)
            if wait is not None:
                return Held(wait.reason, wait.until, lane)
            to = recipient.email
            context.update(given_name=recipient.given_name, family_name=recipient.family_name)
        else:
            assert notification.address is not None
            to = notification.address
        return OutgoingMail(
            notification_id=notification.id,
            template=notification.template,
            to=to,
            message_id=notification.next_message_id(message_domain),
            context=context,
            lane=lane,
            notification=notification,
        )

    def apply_delivery(
        self, mail: OutgoingMail, outcome: Delivery, schedule: RetrySchedule
    ) -> datetime | None:
        """Apply what became of one sending to its notification, as loaded to send it
        (not saved: the mailer saves it, possibly with others); returns when to try
        again after a deferral (None: settled)."""
        return self._apply(mail.notification, mail.message_id, outcome, schedule)

    def record_delivery(
        self, mail: OutgoingMail, outcome: Delivery, schedule: RetrySchedule
    ) -> datetime | None:
        """Record what became of one sending on the notification as it is now, and save
        it: before the next message is sent."""

        def attempt() -> datetime | None:
            notification: Notification = self.repository.get(mail.notification_id)
            retry_at = self._apply(notification, mail.message_id, outcome, schedule)
            self.save(notification)
            return retry_at

        return self.retry_on_conflict(attempt)

    def _apply(
        self,
        notification: Notification,
        message_id: str,
        outcome: Delivery,
        schedule: RetrySchedule,
    ) -> datetime | None:
        if not notification.sendable:
            return None  # settled meanwhile (never by anyone but this mailer today)
        now = self.clock()
        if isinstance(outcome, Accepted):
            notification.record_sent(now, message_id, self.system_actor)
            return None
        if isinstance(outcome, Deferred):
            retry_at = schedule.next_attempt(notification.deferrals + 1, now)
            notification.record_deferred(outcome.reason, now, retry_at, self.system_actor)
            return retry_at
        notification.record_refused(outcome.reason, now, self.system_actor)
        return None

    def undeliverable(self) -> list[UndeliverableMail]:
        """Messages the mail server refused for good (not resent since), oldest first."""

        def view(n: Notification) -> UndeliverableMail | None:
            if n.state != FAILED:
                return None
            assert n.failure is not None
            return UndeliverableMail(n.id, n.template, n.applicant_id, n.failure, n.modified_on)

        return undeliverable_of(self, Notification.Refused, view)  # type: ignore[attr-defined]

    # -- the office's use cases --------------------------------------------------------
    def notifications_of(self, applicant_id: uuid.UUID) -> list[Notification]:
        """Every notification requested for an applicant, oldest first."""
        recipient = self.find(applicant_id, Recipient)
        if recipient is None:
            return []
        return [self.repository.get(n["id"]) for n in recipient.notifications]

    def get_notification(self, notification_id: uuid.UUID) -> Notification:
        notification = self.find(notification_id, Notification)
        if notification is None:
            raise NotFound("notification_id", "there is no such notification")
        return notification

    def request_resend(
        self, notification_id: uuid.UUID, actor: Actor, correlation_id: uuid.UUID
    ) -> Notification:
        """The office asks for a message to be sent again."""

        def attempt() -> Notification:
            notification = self.get_notification(notification_id)
            try:
                notification.request_resend(
                    actor["id"], correlation_id, actor, at=self.clock(), limit=self.resend_limit
                )
            except LimitReached:
                self.save(notification)  # the refusal, recorded
                raise
            self.save(notification)
            return notification

        return self.retry_on_conflict(attempt)


class _Effects:
    """The aggregates one consumed event touches, loaded once and recorded together."""

    def __init__(
        self,
        app: NotificationsApplication,
        envelope: Envelope,
        processing_event: ProcessingEvent[uuid.UUID],
    ) -> None:
        self.app = app
        self.processing_event = processing_event
        #: Reactions to other services' events are the service's own doing.
        self.actor = app.system_actor
        self.cause_event_id = envelope.event_id
        self.correlation_id = envelope.correlation_id
        self.causation_id: uuid.UUID | None = envelope.event_id
        self._touched: dict[uuid.UUID, Aggregate] = {}

    def __enter__(self) -> _Effects:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            self.processing_event.collect_events(*self._touched.values())

    def load(self, aggregate_id: uuid.UUID) -> Any:
        if aggregate_id not in self._touched:
            self._touched[aggregate_id] = self.app.repository.get(aggregate_id)
        return self._touched[aggregate_id]

    def recipient(self, applicant_id: uuid.UUID) -> Recipient:
        """The applicant's recipient, opened (without an address yet) if unknown."""
        if applicant_id in self._touched:
            touched: Recipient = self._touched[applicant_id]  # type: ignore[assignment]
            return touched
        known = self.app.find(applicant_id, Recipient)
        if known is not None:
            self._touched[applicant_id] = known
            return known
        recipient = Recipient(
            applicant_id=applicant_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )
        self._touched[applicant_id] = recipient
        return recipient

    def _already_owed(self, template: str) -> bool:
        notification_id = notification_id_for(self.cause_event_id, template)
        return (
            notification_id in self._touched
            or self.app.find(notification_id, Notification) is not None
        )

    def request_for_applicant(self, recipient: Recipient, template: str, **context: Any) -> None:
        if self._already_owed(template):
            return  # the same event, published or read again
        if template in ONCE_PER_APPLICANT and recipient.has_requested(template):
            return
        notification = Notification.request(
            template=template,
            cause_event_id=self.cause_event_id,
            applicant_id=recipient.id,
            context=context,
            recipient_known=recipient.known,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )
        recipient.note_notification(
            notification.id, template, self.correlation_id, self.causation_id, self.actor
        )
        self._touched[notification.id] = notification

    def request_for_address(self, address: str, template: str, **context: Any) -> None:
        if self._already_owed(template):
            return
        notification = Notification.request(
            template=template,
            cause_event_id=self.cause_event_id,
            address=address,
            context=context,
            recipient_known=True,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )
        self._touched[notification.id] = notification
