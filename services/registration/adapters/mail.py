"""E-mail sent by registration itself: the registration link.

The link carries a secret that must never reach the event log or Kafka, so this one
message is sent by registration rather than by the notifications service. The mailer
follows registration's own log: it derives the token again from the signed serial in
`RegistrationLinkIssued`, which makes sending possible again after a crash without
storing the secret.

Each link's delivery is recorded in registration's store as a `MailDelivery` (sent,
deferred until a retry, or undeliverable) before the next link is sent, so a crash
sends at most the one link in flight twice, a deferred address waits for its own retry
without holding up anyone else's link, and a refused address is listed for the office
(`GET /mail/undeliverable`, `python -m services.registration undeliverable`).

The address is stored sealed; the mailer opens it at the moment it writes the message.
A link owed to an applicant who was erased, or whose data's use is suspended, is not
sent: it is recorded at once as not sendable (listed with the undeliverable ones, with
the reason), neither failing nor retried.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from events.privacy import ERASED
from runtime.mail import (
    Delivery,
    Later,
    MailDelivery,
    MailFollower,
    Refused,
    RetrySchedule,
    Send,
    Settled,
    SmtpMailer,
    UndeliverableMail,
    delivery_view,
    undeliverable_of,
)
from services.registration.application.service import RegistrationApplication
from services.registration.domain.applicant import Applicant

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain-text e-mail, not HTML
    keep_trailing_newline=True,
)

SUBJECT = "Your JIP registration link"
KIND = "registration_link"


@cache
def _link_template() -> Template:
    return _templates.get_template("registration_link.txt.j2")


def link_message_key(applicant_id: uuid.UUID, link_number: int) -> uuid.UUID:
    """The one message that sends a given link (also its Message-ID)."""
    return uuid.uuid5(applicant_id, f"link:{link_number}")


class RegistrationLinkMailer(MailFollower):
    """Sends each registration link issued, once, and records what became of it."""

    watches = (Applicant.RegistrationLinkIssued,)  # type: ignore[attr-defined]

    def __init__(
        self,
        app: RegistrationApplication,
        mailer: SmtpMailer,
        public_base_url: str,
        *,
        schedule: RetrySchedule | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, mailer, name="mailer:registration-link", **kwargs)
        self.registration = app
        self.public_base_url = public_base_url.rstrip("/")
        self.schedule = schedule or RetrySchedule()

    def owed_by(self, domain_event: Any) -> Iterable[tuple[Hashable, Any]]:
        if isinstance(domain_event, Applicant.RegistrationLinkIssued):  # type: ignore[attr-defined]
            e = domain_event
            yield link_message_key(e.originator_id, e.link_number), e

    def prepare(self, key: Hashable, source: Any, now: datetime) -> Send | Later | None:
        assert isinstance(key, uuid.UUID)
        delivery = self.registration.find(key, MailDelivery)
        if delivery is not None and delivery.settled:
            return None
        if delivery is not None and delivery.retry_at is not None and delivery.retry_at > now:
            return Later(delivery.retry_at)
        e = source
        applicant = self.registration.find(e.originator_id, Applicant)
        if applicant is None or applicant.link_number != e.link_number or applicant.details:
            # Replaced by a newer link (which is sent instead) or already used: a link
            # retried after a deferral must not arrive after it stopped working.
            return None
        address = self.registration.personal.unseal(e.email)
        not_sendable = (
            "not sent: the applicant's data was erased"
            if applicant.erased or address == ERASED
            else "not sent: the use of the applicant's data is suspended"
            if applicant.use_suspended
            else None
        )
        if not_sendable is not None:
            delivery = delivery or MailDelivery(message_key=key, kind=KIND, about=e.originator_id)
            delivery.record(Refused(not_sendable), now, self.schedule)
            self.registration.save(delivery)
            return None
        token = self.registration.registration_link(e.originator_id, e.link_number)
        body = _link_template().render(
            cohort_id=e.cohort_id,
            link=f"{self.public_base_url}/registration?token={token}",
            expires_at=e.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        message = self.mailer.compose(address, SUBJECT, body, f"<{key}@{self.mailer.domain}>")
        delivery = delivery or MailDelivery(message_key=key, kind=KIND, about=e.originator_id)
        return Send(message, lane=e.originator_id, state=delivery)

    def settle(self, key: Hashable, send: Send, outcome: Delivery, now: datetime) -> Settled:
        delivery: MailDelivery = send.state
        return Settled(delivery.record(outcome, now, self.schedule), [delivery])

    def record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        assert isinstance(key, uuid.UUID)
        delivery = self.registration.find(key, MailDelivery) or MailDelivery(
            message_key=key, kind=KIND, about=send.lane
        )
        if delivery.settled:
            return None
        retry_at = delivery.record(outcome, now, self.schedule)
        self.registration.save(delivery)
        return retry_at


def undeliverable_links(app: RegistrationApplication) -> list[UndeliverableMail]:
    """Registration links the mail server refused for good, oldest first."""
    return undeliverable_of(
        app,
        MailDelivery.Undeliverable,  # type: ignore[attr-defined]
        delivery_view,
    )
