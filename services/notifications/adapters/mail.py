"""E-mail: the templates, and the mailer that follows this service's own log and sends
every notification that became sendable, through the runtime's one SMTP mailer.

Each sending's outcome is recorded on its notification (`Sent`, `Deferred` with its
retry time, or `Refused`) before the next message is sent, so a crash sends at most
the one message in flight twice, with the same Message-ID (derived from the
notification id and its send number). A deferred message is retried on its own
schedule and holds back only the later messages of the same person; a refused one is
listed for the office (`GET /mail/undeliverable`) and may be resent; the others go on.
One person's messages go out in the order of their path (`domain/path.py`).

Addresses, names and message bodies are personal data: they are never logged, and never
stored in clear. They are kept sealed and opened (through the key store) only here, to
write the message being sent; the rendered body exists only in memory while it is sent.
A message to a person whose use is suspended is recorded as withheld; to an erased
person, as cancelled: either way the mailer moves on to the next.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from runtime.mail import (
    Delivery,
    Later,
    MailFollower,
    RetrySchedule,
    Send,
    Settled,
    SmtpMailer,
)
from services.notifications.application.service import (
    Held,
    NotificationsApplication,
    NotSent,
    OutgoingMail,
)
from services.notifications.domain.notification import BECAME_SENDABLE

TEMPLATES_DIR = Path(__file__).parent / "templates"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text e-mail, not HTML
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The codes the contract publishes, in the words an applicant reads.
WORDS: Mapping[str, str] = {
    # the steps at which an applicant can be turned down
    "eligibility": "the eligibility check",
    "documents": "the review of your documents",
    "first_interview": "the first interview",
    "second_interview": "the second interview",
    "selection": "the final selection",
    # documents
    "certificate_of_enrollment": "certificate of enrollment",
    "certificate_of_graduation": "certificate of graduation",
    "language_score_certificate": "language score certificate",
    "letter_of_recommendation": "letter of recommendation",
    "resume": "résumé",
    # why a document was rejected
    "unreadable": "we could not read it; please send a clear scan or photo of it",
    "wrong_kind": "it is not the kind of document asked for",
    "incomplete": "part of it is missing",
    "expired": "it is no longer valid",
    "not_the_applicants": "it does not appear to be yours",
    "other": "it does not meet the program's requirements",
    # why a document is requested
    "missing": "it is missing from your application",
    "rejected": "the one you sent could not be accepted",
    "requested_by_office": "the office needs it to review your application",
    # interviews
    "local": "your local language",
    "english": "English",
    "japanese": "Japanese",
    "online": "online (video call)",
    "in_person": "in person",
    "phone": "by telephone",
}
JAPAN = ZoneInfo("Asia/Tokyo")


def in_words(code: str) -> str:
    return WORDS.get(code, code.replace("_", " "))


def utc_time(moment: str) -> str:
    at = datetime.fromisoformat(moment).astimezone(UTC)
    return at.strftime("%A %d %B %Y, %H:%M UTC")


def japan_time(moment: str) -> str:
    at = datetime.fromisoformat(moment).astimezone(JAPAN)
    return at.strftime("%A %d %B %Y, %H:%M JST")


_templates.filters.update(words=in_words, utc=utc_time, jst=japan_time)

#: The subject of each template (Jinja, rendered with the same context as the body).
SUBJECTS: Mapping[str, str] = {
    "application_received": "JIP {{ cohort_id }}: we have received your application",
    "documents_complete": "JIP {{ cohort_id }}: your documents are complete",
    "interview_passed": "JIP {{ cohort_id }}: you passed the {{ stage }} interview",
    "interview_failed": "JIP {{ cohort_id }}: the result of your {{ stage }} interview",
    "match_confirmed": "JIP {{ cohort_id }}: a host company has chosen you",
    "applicant_rejected": "JIP {{ cohort_id }}: the outcome of your application",
    "document_requested": "JIP {{ cohort_id }}: please send your {{ kind | words }}",
    "document_rejected": "JIP {{ cohort_id }}: your {{ kind | words }} could not be accepted",
    "interview_scheduled": "JIP {{ cohort_id }}: your {{ stage }} interview on "
    "{{ scheduled_at | utc }}",
    "interview_rescheduled": "JIP {{ cohort_id }}: your {{ stage }} interview is moved to "
    "{{ scheduled_at | utc }}",
    "interview_cancelled": "JIP {{ cohort_id }}: your {{ stage }} interview is cancelled",
    "candidate_selected": "JIP {{ cohort_id }}: you have been selected",
    "inquiry_answer": "Your inquiry to the JIP Program Office: our answer",
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


@cache
def _compiled(template: str) -> tuple[Template, Template]:
    # Compiling a Jinja template costs far more than rendering it: once per template.
    return _templates.from_string(SUBJECTS[template]), _templates.get_template(f"{template}.txt.j2")


def render(template: str, context: Mapping[str, Any]) -> RenderedMail:
    """The subject and plain-text body of a notification. A missing variable is an
    error (StrictUndefined), never a blank in a message sent to an applicant."""
    subject, body = _compiled(template)
    return RenderedMail(
        subject=" ".join(subject.render(context).split()), body=body.render(context)
    )


#: A message held behind an earlier one of the same person is looked at again when that
#: one is settled, and at the latest after this long.
LOOK_AGAIN = timedelta(seconds=5)


class NotificationMailer(MailFollower):
    """Follows the log; for each notification that may have become sendable, sends it
    when its turn comes, unless it was sent meanwhile (its current state decides)."""

    watches = BECAME_SENDABLE

    def __init__(
        self,
        app: NotificationsApplication,
        mailer: SmtpMailer,
        *,
        schedule: RetrySchedule | None = None,
        patience: timedelta = timedelta(minutes=30),
        **kwargs: Any,
    ) -> None:
        super().__init__(app, mailer, name="mailer:notifications", **kwargs)
        self.notifications = app
        self.schedule = schedule or RetrySchedule()
        self.patience = patience

    def owed_by(self, domain_event: Any) -> Iterable[tuple[Hashable, Any]]:
        yield domain_event.originator_id, None

    def prepare(self, key: Hashable, source: Any, now: datetime) -> Send | Later | None:
        decision = self.notifications.mail_to_send(
            key,  # type: ignore[arg-type]
            now,
            self.mailer.domain,
            self.patience,
        )
        if decision is None:
            return None
        if isinstance(decision, NotSent):
            self.notifications.record_not_sent(key, decision)  # type: ignore[arg-type]
            return None
        if isinstance(decision, Held):
            return Later(decision.until or now + LOOK_AGAIN, decision.lane)
        rendered = render(decision.template, decision.context)
        message = self.mailer.compose(
            decision.to, rendered.subject, rendered.body, decision.message_id
        )
        return Send(message, decision.lane, decision)

    def settle(self, key: Hashable, send: Send, outcome: Delivery, now: datetime) -> Settled:
        mail: OutgoingMail = send.state
        retry_at = self.notifications.apply_delivery(mail, outcome, self.schedule)
        return Settled(retry_at, [mail.notification])

    def record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        mail: OutgoingMail = send.state
        return self.notifications.record_delivery(mail, outcome, self.schedule)
