"""E-mail sent by registration itself: the registration link.

The link carries a secret that must never reach the event log or Kafka, so this one
message is sent by registration rather than by the notifications service. The mailer
follows registration's own log: it derives the token again from the signed serial in
`RegistrationLinkIssued`, which makes sending at-least-once without storing the secret.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from runtime.follower import LogFollower
from services.registration.application.service import RegistrationApplication
from services.registration.domain.applicant import Applicant

log = logging.getLogger(__name__)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text e-mail, not HTML
    keep_trailing_newline=True,
)


class MailNotSent(Exception):
    """The mail server could not take the message now; sending it later may succeed."""


class RecipientRefused(Exception):
    """The mail server refused the recipient for good (a 5xx reply)."""


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host = host
        self.port = port
        self.sender = sender

    async def send(self, to: str, subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        # Deterministic Message-ID: a message re-sent after a crash is recognisably the
        # same message to the recipient's mail system.
        message["Message-ID"] = message_id
        message.set_content(body)
        # aiosmtplib's errors quote the recipient's address: they are replaced by ones
        # that carry the reply code only, so no log or traceback shows the address.
        try:
            await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=30)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({r.code for r in error.recipients})
            if codes and all(500 <= code < 600 for code in codes):
                raise RecipientRefused(f"recipient refused: SMTP {codes[0]}") from None
            raise MailNotSent(f"recipient deferred: SMTP {codes}") from None
        except aiosmtplib.SMTPResponseException as error:
            raise MailNotSent(f"mail server replied {error.code}") from None
        except aiosmtplib.SMTPException as error:
            raise MailNotSent(f"mail server unavailable ({type(error).__name__})") from None


class RegistrationLinkMailer(LogFollower):
    def __init__(
        self, app: RegistrationApplication, mailer: SmtpMailer, public_base_url: str, **kwargs: Any
    ) -> None:
        super().__init__(app, name="mailer:registration-link", **kwargs)
        self.registration = app
        self.mailer = mailer
        self.public_base_url = public_base_url.rstrip("/")

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        for domain_event, _ in batch:
            if isinstance(domain_event, Applicant.RegistrationLinkIssued):
                await self._send_link(domain_event)

    async def _send_link(self, e: Any) -> None:
        token = self.registration.registration_link(e.originator_id, e.link_number)
        body = _templates.get_template("registration_link.txt.j2").render(
            cohort_id=e.cohort_id,
            link=f"{self.public_base_url}/registration?token={token}",
            expires_at=e.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        # Built by hand: email.utils.make_msgid adds time, pid and randomness.
        msgid = f"<{uuid.uuid5(e.originator_id, f'link:{e.link_number}')}@jip.example>"
        try:
            await self.mailer.send(e.email, "Your JIP registration link", body, msgid)
        except RecipientRefused as refused:
            # Retrying a refused address would hold up every later link. The applicant
            # can ask for a new link (to a corrected address, by pre-registering it).
            log.warning("registration link of applicant %s not sent: %s", e.originator_id, refused)
