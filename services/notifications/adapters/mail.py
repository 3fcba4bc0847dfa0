"""E-mail: the templates, the SMTP client, and the mailer that follows this service's
own log and sends every notification that became sendable.

Sending is at least once. The mailer sends, then records `Notification.Sent`, then its
log position: a crash in between sends the same message again, with the same
Message-ID (derived from the notification id and its send number), and a notification
already recorded as sent is skipped when the log is read again. A mail server that is
down or answers "try later" fails the batch, which `LogFollower.run` retries with
backoff; only a recipient refused for good (5xx) is set aside, as `failed`, for the
office to see and resend.

Addresses, names and message bodies are personal data: they are never logged, and
errors of the SMTP library (whose texts may quote the address) are replaced by ones
that give the reply code only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from runtime.follower import LogFollower
from services.notifications.application.service import NotificationsApplication
from services.notifications.domain.notification import BECAME_SENDABLE

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text e-mail, not HTML
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The subject of each template (Jinja, rendered with the same context as the body).
SUBJECTS: Mapping[str, str] = {
    "application_received": "JIP {{ cohort_id }}: we have received your application",
    "documents_complete": "JIP {{ cohort_id }}: your documents are complete",
    "interview_passed": "JIP {{ cohort_id }}: you passed the {{ stage }} interview",
    "interview_failed": "JIP {{ cohort_id }}: the result of your {{ stage }} interview",
    "match_confirmed": "JIP {{ cohort_id }}: a host company has chosen you",
    "inquiry_answer": "Your inquiry to the JIP Program Office: our answer",
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


def render(template: str, context: Mapping[str, Any]) -> RenderedMail:
    """The subject and plain-text body of a notification. A missing variable is an
    error (StrictUndefined), never a blank in a message sent to an applicant."""
    subject = _templates.from_string(SUBJECTS[template]).render(context)
    body = _templates.get_template(f"{template}.txt.j2").render(context)
    return RenderedMail(subject=" ".join(subject.split()), body=body)


class MailNotSent(Exception):
    """The mail server could not take the message now; sending it later may succeed."""


class RecipientRefused(Exception):
    """The mail server refused the recipient for good (a 5xx reply)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 30) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        #: Right-hand side of our Message-IDs: the sender's own domain.
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "jip.example"

    def compose(self, to: str, mail: RenderedMail, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        # Deterministic: a message sent again after a crash is recognisably the same
        # message to the recipient's mail system. (email.utils.make_msgid is not: it
        # adds the time, the pid and a random number to whatever id it is given.)
        message["Message-ID"] = message_id
        # RFC 3834: automatic replies (vacation notices) must not answer this message.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.body)
        return message

    async def send(self, to: str, mail: RenderedMail, message_id: str) -> None:
        message = self.compose(to, mail, message_id)
        try:
            await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({r.code for r in error.recipients})
            if codes and all(500 <= code < 600 for code in codes):
                raise RecipientRefused(f"recipient refused: SMTP {codes[0]}") from None
            raise MailNotSent(f"recipient deferred: SMTP {codes}") from None
        except aiosmtplib.SMTPResponseException as error:
            raise MailNotSent(f"mail server replied {error.code}") from None
        except aiosmtplib.SMTPException as error:
            raise MailNotSent(f"mail server unavailable ({type(error).__name__})") from None


class NotificationMailer(LogFollower):
    """Follows the log; for each notification that may have become sendable, sends it
    unless it was sent meanwhile (its current state decides, not the event)."""

    def __init__(self, app: NotificationsApplication, mailer: SmtpMailer, **kwargs: Any) -> None:
        super().__init__(app, name="mailer:notifications", **kwargs)
        self.notifications = app
        self.mailer = mailer

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        for domain_event, _ in batch:
            if isinstance(domain_event, BECAME_SENDABLE):
                await self.deliver(domain_event.originator_id)

    async def deliver(self, notification_id: uuid.UUID) -> None:
        app = self.notifications
        mail = await asyncio.to_thread(app.outgoing, notification_id, self.mailer.domain)
        if mail is None:
            return
        rendered = render(mail.template, mail.context)
        try:
            await self.mailer.send(mail.to, rendered, mail.message_id)
        except RecipientRefused as refused:
            await asyncio.to_thread(app.record_refused, notification_id, refused.reason)
            log.warning("notification %s set aside: %s", notification_id, refused.reason)
            return
        await asyncio.to_thread(app.record_sent, notification_id, mail.message_id)
        log.info("sent notification %s (%s)", notification_id, mail.template)
