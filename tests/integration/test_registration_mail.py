"""The registration link mailer against real SMTP servers that misbehave: a mail server
that refuses an address for good must not hold up the links of everyone after it, and
nothing it logs may show the address."""

import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from kernel import actor as acting
from services.registration.adapters.mail import RegistrationLinkMailer, SmtpMailer
from services.registration.application.service import RegistrationApplication
from services.registration.application.tokens import TokenSigner


class RefusingHandler:
    """A mail server that refuses every address starting with 'refused' (550)."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.delivered.extend(envelope.rcpt_tos)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def refusing_server() -> Iterator[tuple[int, RefusingHandler]]:
    handler = RefusingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, handler
    controller.stop()


def registration_with_applicants(*addresses: str) -> RegistrationApplication:
    # The in-memory event store: the mail server is what this test is about.
    app = RegistrationApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.popo"},
        signer=TokenSigner(b"a-test-secret-of-enough-length"),
    )
    now = datetime.now(UTC)
    app.open_cohort(
        {
            "cohort_id": "FY2025",
            "applications_open_at": now - timedelta(days=1),
            "applications_close_at": now + timedelta(days=1),
            "age_reference_date": date(2025, 8, 25),
            "min_age": 18,
            "max_age": 40,
            "results_by": date(2025, 8, 31),
            "courses": [{"code": "B"}],
            "rules": {},
        },
        acting.staff("staff-017", role="admin"),
        uuid.uuid4(),
    )
    for address in addresses:
        app.preregister("FY2025", address, uuid.uuid4())
    return app


async def test_a_refused_address_does_not_hold_up_the_next_links(refusing_server, caplog):
    port, server = refusing_server
    app = registration_with_applicants("refused-linh@example.org", "budi@example.org")
    mailer = RegistrationLinkMailer(
        app, SmtpMailer("127.0.0.1", port, "JIP <office@jip.example>"), "http://jip.example"
    )

    with caplog.at_level(logging.INFO):
        while await mailer.step():
            pass

    assert server.delivered == ["budi@example.org"]
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("services", "events"))
    )
    assert "not sent: recipient refused: SMTP 550" in ours
    assert "refused-linh" not in ours


async def test_a_mail_server_that_is_down_delays_the_link_without_losing_it(caplog):
    app = registration_with_applicants("mai@example.org")
    mailer = RegistrationLinkMailer(
        app, SmtpMailer("127.0.0.1", free_port(), "JIP <office@jip.example>"), "http://x"
    )
    with pytest.raises(Exception) as failed:
        await mailer.step()
    assert "mai@example.org" not in str(failed.value)
    assert await mailer.load_position() == 0, "the link is still owed"
