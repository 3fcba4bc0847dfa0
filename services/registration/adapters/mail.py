"""E-mail sent by registration itself: the registration link.

The link carries a secret that must never reach the event log or Kafka, so this one
message is sent by registration rather than by the notifications service. The mailer
follows registration's own log: it derives the token again from the signed serial in
`RegistrationLinkIssued`, which makes sending at-least-once without storing the secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from events.transport.follower import LogFollower
from services.registration.application.service import RegistrationApplication
from services.registration.domain.applicant import Applicant

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text e-mail, not HTML
    keep_trailing_newline=True,
)


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
        await aiosmtplib.send(message, hostname=self.host, port=self.port, timeout=30)


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
        await self.mailer.send(e.email, "Your JIP registration link", body, msgid)
