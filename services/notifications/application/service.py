"""Notifications' application service: the policy that turns other services' events
into notifications owed, and the use cases of the mailer and the office.

The policy records its effects atomically with the Kafka position of the event it read
(the inbox's tracking), and it is idempotent by natural key: a notification's id comes
from its cause's `event_id` and its template, so a re-published event owes nothing new.

Personal values (address, names, an answer's text) are kept as they arrive, sealed with
the person's key, and opened only when a message is written (`mail_to_send`): the
opened values live in memory for the length of one sending, never in the store. A
person whose use is suspended gets no mail (the message is withheld, and goes once the
use is resumed); an erased person's messages are cancelled, and a message whose sealed
values no longer open (the key destroyed before the erasure was read) is cancelled too.
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
from events.privacy import ERASED, sealed_parts
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
from runtime.privacy import PersonalData
from services.notifications.domain.notification import (
    DEFAULT_RESEND_LIMIT,
    FAILED,
    WITHHELD,
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


#: Why a message is not sent (shown to the office; no personal data).
USE_SUSPENDED: Final = "the person asked that their data not be used (use suspended)"
ERASED_SUBJECT: Final = "the person's data was erased"


@dataclass(frozen=True)
class NotSent:
    """The message is not to be sent now: withheld (`final` False: it goes once the
    person's use is resumed) or cancelled (`final`: the person was erased)."""

    reason: str
    final: bool


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
        personal_data: PersonalData,
        clock: Clock = lambda: datetime.now(UTC),
        resend_limit: ResendLimit = DEFAULT_RESEND_LIMIT,
    ) -> None:
        super().__init__(env)
        #: Opens the sealed address and names at the moment a message is written.
        self.personal_data = personal_data
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
            if recipient.erased:
                return  # a registration read again after the erasure brings nothing
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
    def when_applicant_rejected_then_tell_them_why(
        self, e: screening.ApplicantRejected, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Applicants turned down at any step are told by e-mail, with the reasons in
        words (issue 8: an ineligible applicant is told why)."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            recipient = fx.recipient(p.applicant_id)
            if p.stage in ("first_interview", "second_interview") and recipient.has_requested(
                "interview_failed"
            ):
                return  # the failed interview's message already told them it ended
            fx.request_for_applicant(
                recipient,
                "applicant_rejected",
                cohort_id=p.cohort_id,
                stage=p.stage,
                reasons=[r.text for r in p.reasons],
                # Sealed; opened when the message is written, like the address.
                note=p.note,
            )

    @policy.register
    def when_document_requested_then_ask_for_it(
        self, e: screening.DocumentRequested, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "document_requested",
                cohort_id=p.cohort_id,
                kind=p.kind,
                reason_code=p.reason_code,
                due_by=p.due_by.isoformat() if p.due_by else None,
                note=p.note,
            )

    @policy.register
    def when_document_rejected_then_say_why(
        self, e: screening.DocumentReviewed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        if p.decision != "rejected":
            return
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "document_rejected",
                cohort_id=p.cohort_id,
                kind=p.kind,
                reason_code=p.reason_code or "other",
                note=p.note,
            )

    @policy.register
    def when_interview_scheduled_then_invite(
        self, e: screening.InterviewScheduled, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "interview_scheduled",
                cohort_id=p.cohort_id,
                stage=p.stage,
                **_slot_context(p.slot),
            )

    @policy.register
    def when_interview_rescheduled_then_give_the_new_time(
        self, e: screening.InterviewRescheduled, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "interview_rescheduled",
                cohort_id=p.cohort_id,
                stage=p.stage,
                previous_scheduled_at=p.previous_slot.scheduled_at.isoformat(),
                reason=p.reason.text,
                **_slot_context(p.slot),
            )

    @policy.register
    def when_interview_cancelled_then_inform(
        self, e: screening.InterviewCancelled, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "interview_cancelled",
                cohort_id=p.cohort_id,
                stage=p.stage,
                reason=p.reason.text,
            )

    @policy.register
    def when_candidate_selected_then_congratulate(
        self, e: screening.CandidateSelected, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "candidate_selected",
                cohort_id=p.cohort_id,
                course_preferences=list(p.course_preferences),
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
            # The address and the answer stay sealed (the inquirer's key) until sent.
            fx.request_for_address(
                fx.recipient(p.inquiry_id),
                p.email,
                "inquiry_answer",
                inquiry_id=str(p.inquiry_id),
                answer=p.answer,
            )

    @policy.register
    def when_processing_restricted_then_withhold_or_resume_mail(
        self, e: registration.ProcessingRestricted, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Suspension is recorded on the person's recipient (opened for it if need be,
        e.g. an inquiry's sender); the mailer withholds their messages meanwhile. On
        resumption, the messages withheld are owed again."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            recipient = fx.recipient(p.subject_id)
            if not recipient.restrict(
                p.use_suspended, fx.correlation_id, fx.causation_id, fx.actor
            ):
                return
            if p.use_suspended:
                return
            for notification_id in self._withheld_of(recipient):
                fx.load(notification_id).resume(fx.correlation_id, fx.causation_id, fx.actor)

    @policy.register
    def when_subject_erased_then_forget_them(
        self, e: registration.SubjectErased, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The person's key is destroyed already; here the recipient drops the sealed
        address and names from its state, and every message still owed is cancelled
        (recorded, never retried)."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            recipient = fx.recipient(p.subject_id)
            if not recipient.forget(fx.correlation_id, fx.causation_id, fx.actor):
                return
            for n in recipient.notifications:
                fx.load(n["id"]).cancel(
                    ERASED_SUBJECT, fx.correlation_id, fx.causation_id, fx.actor
                )

    def _withheld_of(self, recipient: Recipient) -> list[uuid.UUID]:
        """The person's withheld messages (every message is listed on its person's
        recipient: an applicant's, or an inquiry's sender's)."""
        return [
            n["id"]
            for n in recipient.notifications
            if (found := self.find(n["id"], Notification)) is not None and found.state == WITHHELD
        ]

    # -- the mailer's use cases --------------------------------------------------------
    def mail_to_send(
        self, notification_id: uuid.UUID, now: datetime, message_domain: str, patience: timedelta
    ) -> OutgoingMail | Held | NotSent | None:
        """The message to send now for this notification, its address and names opened;
        or why and until when it waits (its retry time, or a message of an earlier step
        of the same person); or why it is not to be sent (`NotSent`: the person's use
        is suspended, or they were erased); or None when nothing is owed (sent,
        refused, still waiting for its recipient)."""
        notification: Notification = self.repository.get(notification_id)
        if not notification.sendable:
            return None
        lane = notification.applicant_id or notification.id
        if not notification.due(now):
            assert notification.retry_at is not None
            return Held("retries later", notification.retry_at, lane)
        if notification.applicant_id is not None:
            recipient: Recipient = self.repository.get(notification.applicant_id)
        else:
            assert notification.address is not None
            # The inquiry's sender: the subject the address is sealed for (their
            # recipient is opened with the answer; None for an answer owed before that).
            subject_id, _ = sealed_parts(notification.address)
            recipient = self.find(subject_id, Recipient)  # type: ignore[assignment]
        if recipient is not None and recipient.erased:
            return NotSent(ERASED_SUBJECT, final=True)
        if recipient is not None and recipient.use_suspended:
            return NotSent(USE_SUSPENDED, final=False)
        if notification.applicant_id is not None:
            assert recipient.email is not None, "a pending notification has a known recipient"
            others = [
                self.repository.get(n["id"]).on_path()
                for n in recipient.notifications
                if n["id"] != notification.id
            ]
            wait = why_not_yet(notification.on_path(), others, now, patience)
            if wait is not None:
                return Held(wait.reason, wait.until, lane)
            sealed: dict[str, Any] = {
                "to": recipient.email,
                "given_name": recipient.given_name,
                "family_name": recipient.family_name,
            }
        else:
            sealed = {"to": notification.address}
        # Opened now, for this one sending: the clear values are never stored.
        opened = self.personal_data.reveal({**notification.context, **sealed})
        if any(value == ERASED for value in opened.values()):
            # The key is gone though the erasure was not read yet (or an inquirer's).
            return NotSent(ERASED_SUBJECT, final=True)
        to = opened.pop("to")
        context = opened
        return OutgoingMail(
            notification_id=notification.id,
            template=notification.template,
            to=to,
            message_id=notification.next_message_id(message_domain),
            context=context,
            lane=lane,
            notification=notification,
        )

    def record_not_sent(self, notification_id: uuid.UUID, why: NotSent) -> None:
        """Record that a message is withheld (the person's use suspended) or cancelled
        (the person erased), with the reason: the office sees it, the mailer moves on."""

        def attempt() -> None:
            notification: Notification = self.repository.get(notification_id)
            if not notification.sendable:
                return  # settled meanwhile
            if why.final:
                notification.cancel(
                    why.reason, notification.correlation_id, None, self.system_actor
                )
            else:
                notification.withhold(why.reason, self.clock(), self.system_actor)
            self.save(notification)

        self.retry_on_conflict(attempt)

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


def _slot_context(slot: screening.InterviewSlot) -> dict[str, Any]:
    """What an invitation says of its slot (the interviewer's staff id is not told)."""
    return {
        "scheduled_at": slot.scheduled_at.isoformat(),
        "duration_minutes": slot.duration_minutes,
        "language": slot.language,
        "mode": slot.mode,
        "joining_instructions": slot.joining_instructions,
    }


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
        if recipient.erased:
            return  # an event of the person read after their erasure owes them nothing
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

    def request_for_address(
        self, recipient: Recipient, address: str, template: str, **context: Any
    ) -> None:
        """A message to an address its cause gives (sealed with the key of `recipient`,
        the sender of an inquiry), listed on the recipient so that the person's
        restrictions and erasure reach it."""
        if self._already_owed(template) or recipient.erased:
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
        recipient.note_notification(
            notification.id,
            template,
            self.correlation_id,
            self.causation_id,
            self.actor,
            addressed_by_cause=True,
        )
        self._touched[notification.id] = notification
