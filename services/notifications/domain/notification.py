"""A notification: one message the office owes someone because something happened.

Its id is derived from the event that caused it and the template, so an event that is
published or read twice never owes a second message. Its life:

    awaiting_recipient --(recipient arrives)--> pending --(sent)--> sent
                                                pending --(refused)--> failed
                                                pending --(deferred)--> retrying
                                               retrying --(sent | refused | deferred)--> ...
                          sent | failed --(resend requested)--> pending
                          sent | failed --(resend refused: limit reached)--> unchanged
                     pending | retrying --(the person's use suspended)--> withheld
                                withheld --(use resumed)--> pending
                       any but sent/failed --(the person erased)--> cancelled

A deferral (the mail server said "not now" for this message) schedules its own retry;
after the last one allowed the message counts as refused. Either way the failure is
recorded here, in the log, for the office to see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from eventsourcing.domain import Aggregate, event

from kernel.actor import Actor
from kernel.rules import LimitReached, require
from services.notifications.domain.path import MailOnPath, Step, step_of

AWAITING_RECIPIENT: Final = "awaiting_recipient"
PENDING: Final = "pending"
RETRYING: Final = "retrying"
SENT: Final = "sent"
FAILED: Final = "failed"
#: Not sent because the person asked that their data not be used; sent once resumed.
WITHHELD: Final = "withheld"
#: Never to be sent: the person was erased.
CANCELLED: Final = "cancelled"


def notification_id_for(cause_event_id: uuid.UUID, template: str) -> uuid.UUID:
    """The one notification a given event can cause with a given template."""
    return uuid.uuid5(cause_event_id, template)


class Notification(Aggregate):
    """A message to an applicant (`applicant_id`, address from their Recipient), to a
    host company (`company_id`, its first contact from its Recipient), or to an address
    given by the event itself (`address`, e.g. an inquiry's sender).

    A message may be owed now but due only later (`not_before`: a reminder to decide
    before a deadline). It is recorded when its cause is read, like any other, so a
    restart neither loses it (the mailer reads again from the oldest message it still
    holds) nor sends it twice (its id comes from its cause, its state says it was sent).
    """

    @staticmethod
    def create_id(cause_event_id: uuid.UUID, template: str, **_: Any) -> uuid.UUID:
        return notification_id_for(cause_event_id, template)

    @event("Requested")
    def __init__(
        self,
        template: str,
        cause_event_id: uuid.UUID,
        applicant_id: uuid.UUID | None,
        address: str | None,
        context: dict[str, Any],
        awaiting_recipient: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        # Absent from events recorded before companies were written to.
        company_id: uuid.UUID | None = None,
        not_before: datetime | None = None,
        happened_at: datetime | None = None,
    ) -> None:
        self.template = template
        #: When the step it tells happened (its cause's time); None in events recorded
        #: before it was kept.
        self.happened_at = happened_at
        self.cause_event_id = cause_event_id
        self.applicant_id = applicant_id
        self.company_id = company_id
        #: Not sent before this time (a reminder); None: as soon as its turn comes.
        self.not_before = not_before
        #: Attempts at sending (deferrals and refusals included), for the office.
        self.attempts = 0
        #: Sealed with the addressee's key (an inquiry's sender), like every personal
        #: value this service keeps.
        self.address = address
        #: What the template says beyond the recipient's name (cohort, stage, ...).
        self.context = context
        self.correlation_id = correlation_id
        self.state: str = AWAITING_RECIPIENT if awaiting_recipient else PENDING
        self.sends = 0
        self.sent_at: datetime | None = None
        self.failure: str | None = None
        #: Deferrals of the current sending, and when it is tried again.
        self.deferrals = 0
        self.retry_at: datetime | None = None
        #: When the office asked for each resend (those asked before the time was
        #: recorded are not known).
        self.resends_requested_at: list[datetime] = []
        #: Why it is withheld or cancelled (no personal data).
        self.not_sent_because: str | None = None

    @classmethod
    def request(
        cls,
        *,
        template: str,
        cause_event_id: uuid.UUID,
        applicant_id: uuid.UUID | None = None,
        company_id: uuid.UUID | None = None,
        address: str | None = None,
        context: dict[str, Any],
        recipient_known: bool,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        not_before: datetime | None = None,
        happened_at: datetime | None = None,
    ) -> Notification:
        require(
            [applicant_id, company_id, address].count(None) == 2,
            "recipient",
            "a notification goes to an applicant, a company or an address given by its cause",
        )
        return cls(
            template=template,
            cause_event_id=cause_event_id,
            applicant_id=applicant_id,
            address=address,
            context=context,
            awaiting_recipient=address is None and not recipient_known,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            company_id=company_id,
            not_before=not_before,
            happened_at=happened_at,
        )

    @property
    def recipient_id(self) -> uuid.UUID | None:
        """Whose recipient addresses it: the applicant's or the company's."""
        return self.applicant_id or self.company_id

    @property
    def sendable(self) -> bool:
        """Owed and addressable: pending, or retrying after a deferral."""
        return self.state in (PENDING, RETRYING)

    def due(self, now: datetime) -> bool:
        """Sendable now (a retrying message only from its retry time, a reminder only
        from its time)."""
        return self.sendable and (self.waits_until(now) is None)

    def waits_until(self, now: datetime) -> datetime | None:
        """When it may go, if not now (its retry time, or a reminder's time)."""
        later = [t for t in (self.retry_at, self.not_before) if t is not None and t > now]
        return max(later) if later else None

    @property
    def step(self) -> Step | None:
        """The step of the applicant's path this message tells."""
        return step_of(self.template, self.context)

    def on_path(self) -> MailOnPath:
        return MailOnPath(self.id, self.step, self.state, self.created_on, self.happened_at)

    def next_message_id(self, domain: str) -> str:
        """The Message-ID of the next sending: the same for a repeat after a crash (so
        the recipient's mail system sees one message), new for a resend requested by
        the office."""
        return f"<{self.id}.{self.sends + 1}@{domain}>"

    # -- the recipient becomes known ---------------------------------------------------
    def release(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        """The recipient's address arrived: the message can go. No-op unless waiting."""
        if self.state == AWAITING_RECIPIENT:
            self._recipient_arrived(
                correlation_id=correlation_id, causation_id=causation_id, actor=actor
            )

    @event("RecipientArrived")
    def _recipient_arrived(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.state = PENDING

    # -- delivery ----------------------------------------------------------------------
    def record_sent(self, sent_at: datetime, message_id: str, actor: Actor) -> None:
        """The mail server accepted the message for delivery."""
        require(self.sendable, "notification_id", "only a pending message is sent")
        self._sent(
            template=self.template,
            applicant_id=self.applicant_id,
            cause_event_id=self.cause_event_id,
            sent_at=sent_at,
            message_id=message_id,
            correlation_id=self.correlation_id,
            causation_id=self.cause_event_id,
            actor=actor,
            company_id=self.company_id,
        )

    @event("Sent")
    def _sent(
        self,
        template: str,
        applicant_id: uuid.UUID | None,
        cause_event_id: uuid.UUID,
        sent_at: datetime,
        message_id: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        company_id: uuid.UUID | None = None,
    ) -> None:
        self.state = SENT
        self.sends += 1
        self.attempts += 1
        self.sent_at = sent_at
        self.failure = None
        self.deferrals = 0
        self.retry_at = None

    def record_refused(self, reason: str, refused_at: datetime, actor: Actor) -> None:
        """The mail server refused the recipient for good (5xx): retrying cannot help,
        so the message is set aside, visible to the office, which may resend it."""
        require(self.sendable, "notification_id", "only a pending message is sent")
        self._refused(
            reason=reason,
            refused_at=refused_at,
            correlation_id=self.correlation_id,
            causation_id=self.cause_event_id,
            actor=actor,
            template=self.template,
            applicant_id=self.applicant_id,
            company_id=self.company_id,
            cause_event_id=self.cause_event_id,
            attempts=self.attempts + 1,
        )

    @event("Refused")
    def _refused(
        self,
        reason: str,
        refused_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        # Recorded since failures are published (`NotificationFailed`); absent before.
        template: str | None = None,
        applicant_id: uuid.UUID | None = None,
        company_id: uuid.UUID | None = None,
        cause_event_id: uuid.UUID | None = None,
        attempts: int | None = None,
    ) -> None:
        self.state = FAILED
        self.failure = reason
        self.retry_at = None
        self.attempts += 1

    def record_deferred(
        self, reason: str, deferred_at: datetime, retry_at: datetime | None, actor: Actor
    ) -> None:
        """The mail server said "not now" for this message (4xx): it is tried again at
        `retry_at`, on its own, while everyone else's messages go on. With no retry
        left (`retry_at` None) the message counts as refused."""
        require(self.sendable, "notification_id", "only a pending message is sent")
        if retry_at is None:
            self.record_refused(
                f"deferred {self.deferrals + 1} times, last: {reason}", deferred_at, actor
            )
            return
        self._deferred(
            reason=reason,
            deferred_at=deferred_at,
            retry_at=retry_at,
            correlation_id=self.correlation_id,
            causation_id=self.cause_event_id,
            actor=actor,
        )

    @event("Deferred")
    def _deferred(
        self,
        reason: str,
        deferred_at: datetime,
        retry_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.state = RETRYING
        self.deferrals += 1
        self.attempts += 1
        self.retry_at = retry_at
        self.failure = reason

    def request_resend(
        self,
        requested_by: str,
        correlation_id: uuid.UUID,
        actor: Actor,
        *,
        at: datetime | None = None,
        limit: ResendLimit | None = None,
    ) -> None:
        """The office asks for a message to be sent again (lost, deleted, refused), at
        most `limit.resends` times in any `limit.per`. A refusal for the limit is
        recorded (who asked, when) before it is raised: save the notification anyway."""
        require(
            self.state in (SENT, FAILED),
            "notification_id",
            f"this message is {self.state.replace('_', ' ')}; it will be sent without asking",
            conflict=True,
        )
        if limit is not None and at is not None:
            recent = [t for t in self.resends_requested_at if t > at - limit.per]
            if len(recent) >= limit.resends:
                again_at = min(recent) + limit.per
                self._resend_refused(
                    requested_by=requested_by,
                    refused_at=at,
                    correlation_id=correlation_id,
                    causation_id=None,
                    actor=actor,
                )
                raise LimitReached(
                    "notification_id",
                    f"this message may be resent at most {limit.resends} times in "
                    f"{_hours(limit.per)}; it may be resent again after "
                    f"{again_at.isoformat(timespec='seconds')}",
                    retry_after_seconds=max(1, int((again_at - at).total_seconds()) + 1),
                )
        self._resend_requested(
            requested_by=requested_by,
            correlation_id=correlation_id,
            causation_id=None,
            actor=actor,
            requested_at=at,
        )

    @event("ResendRequested")
    def _resend_requested(
        self,
        requested_by: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
        requested_at: datetime | None = None,
    ) -> None:
        self.state = PENDING
        self.deferrals = 0
        self.retry_at = None
        if requested_at is not None:
            self.resends_requested_at.append(requested_at)

    @event("ResendRefused")
    def _resend_refused(
        self,
        requested_by: str,
        refused_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        """A resend the limit refused: kept in the log, for the office to see who asked."""

    # -- the person's rights -----------------------------------------------------------
    def withhold(self, reason: str, at: datetime, actor: Actor) -> None:
        """Not sent now because the person's use is suspended; it waits, recorded as
        withheld with the reason, until the use is resumed."""
        require(self.sendable, "notification_id", "only a pending message is withheld")
        self._withheld(
            reason=reason,
            withheld_at=at,
            correlation_id=self.correlation_id,
            causation_id=self.cause_event_id,
            actor=actor,
        )

    @event("Withheld")
    def _withheld(
        self,
        reason: str,
        withheld_at: datetime,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.state = WITHHELD
        self.not_sent_because = reason
        self.retry_at = None

    def resume(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> bool:
        """The person's use was resumed: a withheld message is owed again."""
        if self.state != WITHHELD:
            return False
        self._resumed(correlation_id=correlation_id, causation_id=causation_id, actor=actor)
        return True

    @event("Resumed")
    def _resumed(
        self, correlation_id: uuid.UUID, causation_id: uuid.UUID | None, actor: Actor
    ) -> None:
        self.state = PENDING
        self.not_sent_because = None
        self.deferrals = 0

    def cancel(
        self,
        reason: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> bool:
        """Never to be sent (the person was erased): recorded with the reason, so that
        the office sees why, and never retried. Returns whether it was still owed."""
        if self.state in (SENT, FAILED, CANCELLED):
            return False
        self._cancelled(
            reason=reason, correlation_id=correlation_id, causation_id=causation_id, actor=actor
        )
        return True

    @event("Cancelled")
    def _cancelled(
        self,
        reason: str,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID | None,
        actor: Actor,
    ) -> None:
        self.state = CANCELLED
        self.not_sent_because = reason
        self.retry_at = None


#: Events after which a notification may have become sendable: what the mailer watches.
BECAME_SENDABLE: tuple[type[Any], ...] = (
    Notification.Requested,  # type: ignore[attr-defined]
    Notification.RecipientArrived,  # type: ignore[attr-defined]
    Notification.ResendRequested,  # type: ignore[attr-defined]
    Notification.Resumed,  # type: ignore[attr-defined]
)


@dataclass(frozen=True)
class ResendLimit:
    """How often the office may have one message sent again: each resend is a real
    e-mail to a person (one was once resent about 90 times)."""

    resends: int
    per: timedelta


#: Three resends per message in any 24 hours (the notifications settings may change it).
DEFAULT_RESEND_LIMIT = ResendLimit(resends=3, per=timedelta(hours=24))


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 24 else "24 hours"
