"""Real SMTP servers (aiosmtpd) that misbehave the way mail servers do, for the tests of
the mailers: one address deferred ("try later", 452), one refused for good (550), and
optionally no SMTPUTF8. What they accepted is kept in order, as a recipient would see
it."""

from __future__ import annotations

import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MisbehavingHandler:
    """Defers every address starting with 'deferred' while `deferring` is set; refuses
    every address starting with 'refused'; accepts the others. `on_accepted` runs in the
    server's thread after each accepted message (e.g. to kill the sender mid-batch)."""

    deferring: threading.Event = field(default_factory=threading.Event)
    accepted: list[EmailMessage] = field(default_factory=list)
    on_accepted: Callable[[EmailMessage], None] | None = None

    def __post_init__(self) -> None:
        self.deferring.set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, _: Any):
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("deferred") and self.deferring.is_set():
            return "452 4.2.2 mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=email.policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.accepted.append(message)
        if self.on_accepted is not None:
            self.on_accepted(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.accepted if address.lower() in str(m["To"]).lower()]


@contextmanager
def smtp_server(
    handler: MisbehavingHandler, *, smtputf8: bool = True, **options: Any
) -> Iterator[int]:
    """Run the server on a free port for the length of the block; yields the port.
    `options` go to aiosmtpd's SMTP server (e.g. `timeout`, after which it closes an
    idle connection)."""
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8, **options
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
