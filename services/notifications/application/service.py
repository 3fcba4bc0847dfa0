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
from kernel.rules import LimitReached, NotFound, require
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
from services.notifications.domain.recipient import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    Recipient,
)

Clock = Callable[[], datetime]

#: Milestones announced once per applicant, however often their event recurs (a second
#: registration through a new link, a résumé uploaded after the documents were complete).
ONCE_PER_APPLICANT: Final = frozenset({"application_received", "documents_complete"})
#: Told even while the person's use is suspended: the answer to their own request under
#: the privacy policy (suspending the use is what they may have asked for).
SENT_EVEN_WHEN_SUSPENDED: Final = frozenset({"privacy_request_answered"})
#: A company is reminded to decide on a proposal this long before its deadline (or
#: half-way to it when the deadline is nearer than that).
REMIND_BEFORE: Final = timedelta(hours=48)
#: Why a reminder is not sent (shown to the office).
DECIDED: Final = "no longer needed: the proposal was decided or withdrawn"
DEADLINE_PASSED: Final = "no longer needed: the deadline to decide has passed"


@dataclass(frozen=True)
class OutgoingMail:
    """Everything the mailer needs to write one message; personal data, never logged."""

    notification_id: uuid.UUID
    template: str
    # Kept out of repr: a traceback or a debug print must not show them.
    to: str = field(repr=False)
    message_id: str
    context: dict[str, Any] = field(repr=False)
    #: The reader's language (`en` or `ja`): which version of the template is written.
    language: str
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
                language=p.language,
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
    def when_details_amended_then_tell_them_and_use_the_new_name(
        self, e: registration.ApplicantDetailsAmended, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The office corrected the applicant's details: later messages use the new name
        and language, and the applicant is told which details changed (not the values)."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            named = p.changes.model_dump(include={"given_name", "family_name", "language"})
            given, family = named.get("given_name"), named.get("family_name")
            language = named.get("language")
            recipient = fx.recipient(p.applicant_id)
            if isinstance(given, str) or isinstance(family, str):
                recipient.rename(
                    given if isinstance(given, str) else None,
                    family if isinstance(family, str) else None,
                    fx.correlation_id,
                    fx.causation_id,
                    fx.actor,
                )
            if language in LANGUAGES:
                recipient.prefer_language(language, fx.correlation_id, fx.causation_id, fx.actor)
            # Written in the language as amended (the recipient's, when it is sent).
            fx.request_for_applicant(
                recipient,
                "details_amended",
                cohort_id=p.cohort_id,
                changed_fields=list(p.changed_fields),
            )

    @policy.register
    def when_eligible_then_say_so(
        self, e: screening.EligibilityAssessed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The eligibility result, when it is news: eligible now and not before (an
        ineligible result is told by `ApplicantRejected`, with its reasons; an
        implausible one goes to the office first)."""
        p = e.payload
        if p.result != "eligible" or p.previous_result == "eligible":
            return
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.applicant_id), "eligibility_passed", cohort_id=p.cohort_id
            )

    @policy.register
    def when_privacy_request_answered_then_tell_the_person(
        self, e: registration.PrivacyRequestAnswered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The outcome of an applicant's request under the privacy policy. Not for an
        inquiry's sender (no address is kept for them), nor after a deletion that was
        done (there is nobody left to write to)."""
        p = e.payload
        if p.subject_kind != "applicant" or (p.right == "deletion" and p.outcome == "done"):
            return
        with _Effects(self, e, processing_event) as fx:
            fx.request_for_applicant(
                fx.recipient(p.subject_id),
                "privacy_request_answered",
                right=p.right,
                outcome=p.outcome,
                outcome_reason=p.outcome_reason,
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
                # The code (a rule id) is put in words in the reader's language; the
                # office's words are kept for a code no sentence is written for.
                reasons=[{"code": r.code, "text": r.text} for r in p.reasons],
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
    def when_document_reviewed_then_say_the_outcome(
        self, e: screening.DocumentReviewed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """A document accepted (with what is still outstanding), or rejected (why)."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            if p.decision == "accepted":
                fx.request_for_applicant(
                    fx.recipient(p.applicant_id),
                    "document_accepted",
                    cohort_id=p.cohort_id,
                    kind=p.kind,
                    outstanding=list(p.outstanding),
                )
                return
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
    def when_company_registered_then_welcome_it(
        self, e: matching.CompanyRegistered, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            company = fx.company(p.company_id, p.contacts, p.legal_name)
            fx.request_for_company(
                company,
                "company_registered",
                cohort_id=p.cohort_id,
                capacity=p.capacity,
                courses=list(p.courses),
            )

    @policy.register
    def when_company_refused_then_tell_it_why(
        self, e: matching.CompanyRefused, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            company = fx.company(p.company_id, p.contacts, p.legal_name)
            fx.request_for_company(
                company,
                "company_refused",
                cohort_id=p.cohort_id,
                reasons=[{"code": r.code, "text": r.text} for r in p.reasons],
            )

    @policy.register
    def when_match_proposed_then_ask_the_company_and_tell_the_candidate(
        self, e: matching.MatchProposed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """The company is asked to decide, and reminded before the deadline (a message
        recorded now, due later: computed from the event, so reading it again owes
        the same reminder); the candidate hears that they were proposed."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            company = fx.recipient(p.company_id)
            about = {
                "cohort_id": p.cohort_id,
                "course": p.course,
                "candidate": str(p.applicant_id),
                "decide_by": p.decide_by.isoformat(),
                "proposal_id": str(p.proposal_id),
            }
            fx.request_for_company(company, "candidates_proposed", **about)
            remind_at = reminder_time(e.occurred_at, p.decide_by)
            if remind_at is not None:
                fx.request_for_company(company, "decision_reminder", not_before=remind_at, **about)
            fx.request_for_applicant(
                fx.recipient(p.applicant_id),
                "match_proposed",
                cohort_id=p.cohort_id,
                course=p.course,
                decide_by=p.decide_by.isoformat(),
            )

    @policy.register
    def when_match_confirmed_then_announce_it_and_the_agreement(
        self, e: matching.MatchConfirmed, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Both sides hear that the match stands and that the agreement is ready to
        sign; the company's reminder to decide is no longer owed."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            applicant = fx.recipient(p.applicant_id)
            fx.request_for_applicant(
                applicant,
                "match_confirmed",
                cohort_id=p.cohort_id,
                course=p.course,
                confirmed_on=p.confirmed_at.date().isoformat(),
            )
            fx.request_for_applicant(
                applicant, "agreement_ready", cohort_id=p.cohort_id, course=p.course
            )
            company = fx.recipient(p.company_id)
            about = {"cohort_id": p.cohort_id, "course": p.course, "candidate": str(p.applicant_id)}
            fx.request_for_company(
                company,
                "match_confirmed_company",
                confirmed_on=p.confirmed_at.date().isoformat(),
                **about,
            )
            fx.request_for_company(company, "agreement_ready_company", **about)
            fx.cancel_reminders(company, p.proposal_id, p.applicant_id)

    @policy.register
    def when_match_declined_then_stop_reminding(
        self, e: matching.MatchDeclined, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.cancel_reminders(fx.recipient(p.company_id), p.proposal_id, p.applicant_id)

    @policy.register
    def when_proposal_withdrawn_then_stop_reminding(
        self, e: matching.ProposalWithdrawn, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            fx.cancel_reminders(fx.recipient(p.company_id), p.proposal_id, p.applicant_id)

    @policy.register
    def when_agreement_signed_then_tell_its_parties(
        self, e: matching.AgreementSigned, processing_event: ProcessingEvent[uuid.UUID]
    ) -> None:
        """Once per agreement, to the parties of that agreement: with one three-way
        agreement both the intern and the company hear once; with an agreement per
        pair each hears when the one they signed is complete (the office's own
        agreement with the other side is not theirs to be told about)."""
        p = e.payload
        with _Effects(self, e, processing_event) as fx:
            about = {"signed_on": p.signed_at.date().isoformat(), "structure": p.structure}
            if "intern" in p.parties:
                fx.request_for_applicant(fx.recipient(p.applicant_id), "agreement_signed", **about)
            if "company" in p.parties:
                fx.request_for_company(
                    fx.recipient(p.company_id),
                    "agreement_signed_company",
                    candidate=str(p.applicant_id),
                    **about,
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
        lane = notification.recipient_id or notification.id
        later = notification.waits_until(now)
        if later is not None:
            why = "retries later" if notification.retry_at == later else "a reminder, due later"
            return Held(why, later, lane)
        recipient: Recipient | None
        if notification.recipient_id is not None:
            recipient = self.repository.get(notification.recipient_id)
        else:
            assert notification.address is not None
            # The inquiry's sender: the subject the address is sealed for (their
            # recipient is opened with the answer; None for an answer owed before that).
            subject_id, _ = sealed_parts(notification.address)
            recipient = self.find(subject_id, Recipient)
        if recipient is not None and recipient.erased:
            return NotSent(ERASED_SUBJECT, final=True)
        if notification.template == "decision_reminder" and now >= datetime.fromisoformat(
            notification.context["decide_by"]
        ):
            # Read too late to be of use (e.g. a proposal read after its deadline).
            return NotSent(DEADLINE_PASSED, final=True)
        if (
            recipient is not None
            and recipient.use_suspended
            and notification.template not in SENT_EVEN_WHEN_SUSPENDED
        ):
            return NotSent(USE_SUSPENDED, final=False)
        sealed: dict[str, Any]
        if recipient is not None and notification.recipient_id is not None:
            assert recipient.known, "a pending notification has a known recipient"
            others = [
                self.repository.get(n["id"]).on_path()
                for n in recipient.notifications
                if n["id"] != notification.id
            ]
            wait = why_not_yet(notification.on_path(), others, now, patience)
            if wait is not None:
                return Held(wait.reason, wait.until, lane)
            if recipient.is_company:
                sealed = {
                    "contacts": recipient.contacts,
                    "company_name": recipient.company_name,
                    "addressee": "company",
                }
                if recipient.email is not None:
                    sealed["corrected_to"] = recipient.email
            else:
                sealed = {
                    "to": recipient.email,
                    "given_name": recipient.given_name,
                    "family_name": recipient.family_name,
                    "addressee": "applicant",
                }
        else:
            sealed = {"to": notification.address, "addressee": "inquirer"}
        # Opened now, for this one sending: the clear values are never stored.
        opened = self.personal_data.reveal({**notification.context, **sealed})
        if any(value == ERASED for value in opened.values()):
            # The key is gone though the erasure was not read yet (or an inquirer's).
            return NotSent(ERASED_SUBJECT, final=True)
        if "contacts" in opened:
            # A company is written to at its first contact, by name (at the address
            # the office corrected, if it did).
            first = opened.pop("contacts")[0]
            opened["contact_name"] = first["name"]
            opened["to"] = opened.pop("corrected_to", None) or first["email"]
        to = opened.pop("to")
        return OutgoingMail(
            notification_id=notification.id,
            template=notification.template,
            to=to,
            message_id=notification.next_message_id(message_domain),
            context=opened,
            language=recipient.language if recipient is not None else DEFAULT_LANGUAGE,
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
            return UndeliverableMail(n.id, n.template, n.recipient_id, n.failure, n.modified_on)

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

    def amend_address(
        self,
        recipient_id: uuid.UUID,
        email: str,
        reason: str,
        actor: Actor,
        correlation_id: uuid.UUID,
    ) -> Recipient:
        """The office corrects the address an applicant or a company is written to
        (sealed with their key, like every address here), saying why; messages sent
        from then on, resends included, go there."""

        def attempt() -> Recipient:
            recipient = self.find(recipient_id, Recipient)
            if recipient is None:
                raise NotFound("recipient_id", "no message was ever owed to this recipient")
            # Before sealing: an erased person has no key to seal with any more.
            require(
                not recipient.erased, "recipient_id", "this person's data was erased", conflict=True
            )
            recipient.amend_address(
                self.personal_data.seal(recipient_id, email),
                self.personal_data.seal(recipient_id, reason),
                actor["id"],
                correlation_id,
                None,
                actor,
            )
            self.save(recipient)
            return recipient

        return self.retry_on_conflict(attempt)

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


def reminder_time(proposed_at: datetime, decide_by: datetime) -> datetime | None:
    """When a company is reminded to decide: `REMIND_BEFORE` its deadline, or half-way
    to it when the deadline is nearer; None when the deadline has passed already.
    From the proposal's own times, so that the same proposal always owes the same
    reminder, however often and whenever it is read."""
    if decide_by <= proposed_at:
        return None
    return max(decide_by - REMIND_BEFORE, proposed_at + (decide_by - proposed_at) / 2)


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
        #: When the step the messages tell happened: what orders one person's messages.
        self.happened_at = envelope.occurred_at
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

    def company(self, company_id: uuid.UUID, contacts: str, legal_name: str) -> Recipient:
        """A host company's recipient, with its contacts (sealed) and the language of
        its first contact (opened here: the language is not personal data, and the
        message must know it before it is written); messages owed before it was known
        are released."""
        recipient = self.recipient(company_id)
        opened = self.app.personal_data.unseal(contacts)
        language: Language = "ja"  # a Japanese company, unless its contact says otherwise
        if isinstance(opened, list) and opened and opened[0].get("language") in LANGUAGES:
            language = opened[0]["language"]
        released = recipient.identify_company(
            contacts, legal_name, language, self.correlation_id, self.causation_id, self.actor
        )
        for notification_id in released:
            self.load(notification_id).release(self.correlation_id, self.causation_id, self.actor)
        return recipient

    def cancel_reminders(
        self, company: Recipient, proposal_id: uuid.UUID | None, applicant_id: uuid.UUID
    ) -> None:
        """The proposal was decided or withdrawn: its reminder is no longer owed (one
        already sent stays sent). Without a proposal id (a match confirmed directly),
        every reminder about the candidate."""
        for n in company.notifications:
            if n["template"] != "decision_reminder":
                continue
            reminder: Notification = self.load(n["id"])
            about = reminder.context
            if (proposal_id is not None and about.get("proposal_id") == str(proposal_id)) or (
                proposal_id is None and about.get("candidate") == str(applicant_id)
            ):
                reminder.cancel(DECIDED, self.correlation_id, self.causation_id, self.actor)

    def _already_owed(self, template: str) -> bool:
        notification_id = notification_id_for(self.cause_event_id, template)
        return (
            notification_id in self._touched
            or self.app.find(notification_id, Notification) is not None
        )

    def request_for_applicant(self, recipient: Recipient, template: str, **context: Any) -> None:
        self._request(recipient, template, company=False, not_before=None, context=context)

    def request_for_company(
        self,
        recipient: Recipient,
        template: str,
        *,
        not_before: datetime | None = None,
        **context: Any,
    ) -> None:
        self._request(recipient, template, company=True, not_before=not_before, context=context)

    def _request(
        self,
        recipient: Recipient,
        template: str,
        *,
        company: bool,
        not_before: datetime | None,
        context: dict[str, Any],
    ) -> None:
        if self._already_owed(template):
            return  # the same event, published or read again
        if template in ONCE_PER_APPLICANT and recipient.has_requested(template):
            return
        if recipient.erased:
            return  # an event of the person read after their erasure owes them nothing
        notification = Notification.request(
            template=template,
            cause_event_id=self.cause_event_id,
            applicant_id=None if company else recipient.id,
            company_id=recipient.id if company else None,
            context=context,
            recipient_known=recipient.known,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
            not_before=not_before,
            happened_at=self.happened_at,
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
