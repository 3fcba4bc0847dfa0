"""Outgoing e-mail, the same for every service that writes to people: one SMTP client
that keeps its connection and says what became of each message, and one mailer that
follows the service's own log and delivers every message owed, one by one.

What becomes of a message (`Delivery`):

- `Accepted`: the mail server took it.
- `Deferred`: the server said "not now" for this message (a 4xx reply, such as 452 for
  a full mailbox). It is tried again later, on its own schedule (`RetrySchedule`,
  exponential backoff); after the last attempt it counts as refused.
- `Refused`: it cannot be delivered, and trying again cannot help (a 5xx reply, or an
  address with non-ASCII characters for a server that does not offer SMTPUTF8). The
  service records it for the office to see; the others go on.

A mail server that cannot be reached, times out, closes the connection or refuses our
sender is not any one message's fault: `MailServerUnavailable` pauses the whole mailer
(the log follower retries with backoff) and no message loses its place.

The guarantee, after a crash: every message's outcome (sent, deferred until T, refused)
is recorded durably before the next message is sent, so at most the one message in
flight can be sent twice, with the same Message-ID (so the recipient's mail system can
tell). Messages of one person go one at a time, in the order the service decides
(`MailFollower.prepare`); a message waiting for its retry holds back only that person's
later messages.

Addresses and texts are personal data: this module never logs them, and the SMTP
library's errors (which may quote the address) are replaced by reasons that give the
reply code only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import abstractmethod
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Final

import aiosmtplib
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from runtime.follower import LogFollower
from runtime.settings import MailSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- what became of a message ------------------------------------------------------------
@dataclass(frozen=True)
class Accepted:
    """The mail server took the message for delivery."""


@dataclass(frozen=True)
class Deferred:
    """The mail server cannot take this message now (4xx); later may succeed."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """The message cannot be delivered, and trying again cannot help."""

    reason: str


Delivery = Accepted | Deferred | Refused


class MailServerUnavailable(Exception):
    """The mail server cannot be reached or will not take any mail now: nobody's fault
    in particular, so every message waits (and none is recorded as failed)."""


@dataclass(frozen=True)
class RetrySchedule:
    """When a deferred message is tried again: after `first`, then each wait `factor`
    times longer, at most `longest`; after `attempts` deferrals it counts as refused
    (an address deferred for that long is, in practice, not going to take it)."""

    first: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    longest: timedelta = timedelta(hours=1)
    attempts: int = 12

    def next_attempt(self, deferrals: int, now: datetime) -> datetime | None:
        """The time of the next attempt after the `deferrals`-th deferral (1 for the
        first), or None when the message should be given up."""
        if deferrals >= self.attempts:
            return None
        wait = self.first * (self.factor ** (deferrals - 1))
        return now + min(wait, self.longest)


# -- the SMTP client -----------------------------------------------------------------------
def _is_ascii(text: str) -> bool:
    return text.isascii()


class SmtpMailer:
    """One connection to the mail server, opened when first needed and kept for many
    messages (a new connection per message costs a TCP handshake and an EHLO: most of
    the time of a local delivery)."""

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        #: Right-hand side of our Message-IDs: the sender's own domain.
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "jip.example"
        self._smtp: aiosmtplib.SMTP | None = None

    def compose(self, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(utc_now())
        # Deterministic, given by the caller: a message sent again after a crash is
        # recognisably the same message to the recipient's mail system.
        # (email.utils.make_msgid is not: it adds the time, the pid and a random number.)
        message["Message-ID"] = message_id
        # RFC 3834: automatic replies (vacation notices) must not answer this message.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        # local_hostname given: aiosmtplib's default, socket.getfqdn(), can wait on DNS.
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            local_hostname=self.domain,
            start_tls=False,
        )
        try:
            await smtp.connect()
            await smtp.ehlo()
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailServerUnavailable(
                f"mail server unreachable ({type(error).__name__})"
            ) from None
        self._smtp = smtp
        return smtp

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def deliver(self, message: EmailMessage) -> Delivery:
        """Hand one message to the mail server; say what became of it. Raises
        `MailServerUnavailable` when no message could be delivered now."""
        # A kept connection may have been closed by the server while idle; that shows
        # only when it is used: one new connection, then the server counts as down.
        for last_try in (False, True):
            smtp = await self._connection()
            try:
                return await self._send(smtp, message)
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
                self._drop()
                if last_try:
                    raise MailServerUnavailable("mail server closed the connection") from None
        raise AssertionError("unreachable")

    async def _send(self, smtp: aiosmtplib.SMTP, message: EmailMessage) -> Delivery:
        recipients = [parseaddr(str(message["To"]))[1]]
        if not all(_is_ascii(r) for r in recipients) and not smtp.supports_extension("smtputf8"):
            # aiosmtplib would raise SMTPNotSupported; say it in the office's words.
            return Refused("address has non-ASCII characters; the mail server has no SMTPUTF8")
        try:
            # send_message adds SMTPUTF8 (and flattens the headers in UTF-8) by itself
            # when an address needs it and the server offers it.
            await smtp.send_message(message, recipients=recipients)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({r.code for r in error.recipients})
            if codes and all(500 <= code < 600 for code in codes):
                return Refused(f"recipient refused: SMTP {codes[0]}")
            return Deferred(f"recipient deferred: SMTP {codes[0] if codes else '?'}")
        except aiosmtplib.SMTPSenderRefused as error:
            # Our own address refused: every message would be; the operator must act.
            self._drop()
            raise MailServerUnavailable(f"sender refused: SMTP {error.code}") from None
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:  # "service not available, closing channel"
                self._drop()
                raise MailServerUnavailable("mail server closing: SMTP 421") from None
            if 400 <= error.code < 500:
                return Deferred(f"mail server deferred the message: SMTP {error.code}")
            return Refused(f"mail server refused the message: SMTP {error.code}")
        except aiosmtplib.SMTPNotSupported:
            return Refused("the mail server does not support what this message needs")
        except ValueError:
            # aiosmtplib refuses addresses that cannot be written in an SMTP envelope.
            return Refused("address cannot be written in an SMTP envelope")
        return Accepted()


def smtp_mailer(settings: MailSettings) -> SmtpMailer:
    """The service's SMTP client, from its settings (no I/O: it connects when used)."""
    return SmtpMailer(
        settings.smtp_host, settings.smtp_port, settings.mail_from, timeout=settings.smtp_timeout
    )


def retry_schedule(settings: MailSettings) -> RetrySchedule:
    return RetrySchedule(
        first=settings.mail_retry_first,
        longest=settings.mail_retry_longest,
        attempts=settings.mail_retry_attempts,
    )


# -- the record of one message's delivery ------------------------------------------------
SENDING: Final = "sending"
RETRYING: Final = "retrying"
SENT: Final = "sent"
UNDELIVERABLE: Final = "undeliverable"


class MailDelivery(Aggregate):
    """What became of one message that is not an aggregate of its service by itself
    (registration's link, derived from the log): its attempts and its outcome. Its id
    is the message's own key, so a message is recorded once however often it is read.
    It holds no address: `about` says whose message it is (an applicant id)."""

    @staticmethod
    def create_id(message_key: uuid.UUID, **_: Any) -> uuid.UUID:
        return message_key

    @event("Started")
    def __init__(self, message_key: uuid.UUID, kind: str, about: uuid.UUID | None) -> None:
        self.kind = kind
        self.about = about
        self.state: str = SENDING
        self.deferrals = 0
        self.retry_at: datetime | None = None
        self.reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.state in (SENT, UNDELIVERABLE)

    def record(self, outcome: Delivery, at: datetime, schedule: RetrySchedule) -> datetime | None:
        """Record an attempt's outcome; returns when to try again, if ever."""
        if isinstance(outcome, Accepted):
            self._sent(at=at)
            return None
        if isinstance(outcome, Deferred):
            retry_at = schedule.next_attempt(self.deferrals + 1, at)
            if retry_at is not None:
                self._deferred(reason=outcome.reason, at=at, retry_at=retry_at)
                return retry_at
            reason = f"deferred {self.deferrals + 1} times, last: {outcome.reason}"
        else:
            reason = outcome.reason
        self._undeliverable(reason=reason, at=at)
        return None

    @event("Sent")
    def _sent(self, at: datetime) -> None:
        self.state = SENT
        self.retry_at = None

    @event("Deferred")
    def _deferred(self, reason: str, at: datetime, retry_at: datetime) -> None:
        self.state = RETRYING
        self.deferrals += 1
        self.retry_at = retry_at
        self.reason = reason

    @event("Undeliverable")
    def _undeliverable(self, reason: str, at: datetime) -> None:
        self.state = UNDELIVERABLE
        self.retry_at = None
        self.reason = reason


@dataclass(frozen=True)
class UndeliverableMail:
    """A message the mail server refused for good, as the office sees it: which message,
    whose, why and when; never the address or the text."""

    message_id: uuid.UUID
    kind: str
    about: uuid.UUID | None
    reason: str
    failed_at: datetime


def undeliverable_of(
    app: Any, failure_event: type[Any], view: Callable[[Any], UndeliverableMail | None]
) -> list[UndeliverableMail]:
    """Every message recorded as undeliverable in a service's log, oldest first, as the
    office sees it. Reads the log's `failure_event` records only (the store filters by
    topic), then each message's current state: `view` answers None for one that was
    sent after all (resent by the office)."""
    topic = get_topic(failure_event)
    seen: dict[uuid.UUID, UndeliverableMail] = {}
    start = 0
    while True:
        page = app.recorder.select_notifications(
            start=start, limit=500, topics=[topic], inclusive_of_start=False
        )
        for notification in page:
            seen.pop(notification.originator_id, None)
            found = view(app.repository.get(notification.originator_id))
            if found is not None:
                seen[notification.originator_id] = found
        if len(page) < 500:
            break
        start = page[-1].id
    return list(seen.values())


def delivery_view(delivery: MailDelivery) -> UndeliverableMail | None:
    if delivery.state != UNDELIVERABLE:
        return None
    assert delivery.reason is not None
    return UndeliverableMail(
        message_id=delivery.id,
        kind=delivery.kind,
        about=delivery.about,
        reason=delivery.reason,
        failed_at=delivery.modified_on,
    )


def print_undeliverable(service: str, rows: Sequence[UndeliverableMail]) -> None:
    """The body of every mailing service's `undeliverable` command."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{service}: messages the mail server refused ({len(rows)})")
    for column in ("message", "kind", "about", "reason", "failed at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.message_id),
            row.kind,
            str(row.about or ""),
            row.reason,
            row.failed_at.isoformat(timespec="seconds"),
        )
    Console(width=180).print(table)


# -- the mailer that follows the log -------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """Send this message now. `lane` is whose message it is: messages of one lane go
    one at a time; `state` is what `record` needs back (e.g. the loaded aggregate)."""

    message: EmailMessage = field(repr=False)
    lane: Hashable
    state: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class Later:
    """Not now: look again at `until`, or sooner when a message of `lane` settles
    (an earlier message of the same person was sent or given up)."""

    until: datetime
    lane: Hashable | None = None


@dataclass
class _Owed:
    log_id: int
    source: Any
    due: datetime | None = None  # None: due now
    lane: Hashable | None = None


class MailFollower(LogFollower):
    """Follows the service's own log for messages owed, and delivers them one by one
    over one kept SMTP connection, recording each outcome before the next message.

    Messages that must wait (a retry at a later time, a person's earlier message still
    owed) are kept in memory with the log position that made them owed; the position
    saved is the oldest such one, so a restarted mailer reads them again. A message
    settled meanwhile is recognised by its recorded state (`prepare` answers None).
    """

    #: The domain events that may make a message owed (read from the log, by topic).
    watches: tuple[type[Any], ...] = ()

    def __init__(
        self,
        app: Any,
        mailer: SmtpMailer,
        *,
        name: str,
        clock: Clock = utc_now,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, name=name, **kwargs)
        self.mailer = mailer
        self.clock = clock
        self._topics = [get_topic(cls) for cls in self.watches]
        self._cursor: int | None = None
        self._saved: int | None = None
        self._owed: dict[Hashable, _Owed] = {}

    # -- what each service says ----------------------------------------------------------
    @abstractmethod
    def owed_by(self, domain_event: Any) -> Iterable[tuple[Hashable, Any]]:
        """The messages (key, source) an event of the log may have made owed."""

    @abstractmethod
    def prepare(self, key: Hashable, source: Any, now: datetime) -> Send | Later | None:
        """The message to send now, or when to look again, or None when nothing is owed
        (already settled). Called in a worker thread (it reads the store)."""

    @abstractmethod
    def record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        """Record the outcome durably; return when to try again, if ever. Called in a
        worker thread."""

    # -- the loop ------------------------------------------------------------------------
    def _read_watched_after(self, position: int) -> list[tuple[Any, int]]:
        notifications = self.recorder.select_notifications(
            start=position,
            limit=self.batch_size,
            topics=self._topics,
            inclusive_of_start=False,
        )
        return [(self.app.mapper.to_domain_event(n), n.id) for n in notifications]

    async def step(self) -> int:
        if self._cursor is None:
            self._cursor = self._saved = await self.load_position()
        batch = await asyncio.to_thread(self._read_watched_after, self._cursor)
        try:
            await self.handle(batch)
        finally:
            await self._save_low_water()
        return len(batch)

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        """Note the messages the batch made owed, then deliver every message due."""
        for domain_event, log_id in batch:
            for key, source in self.owed_by(domain_event):
                owed = self._owed.get(key)
                if owed is None:
                    self._owed[key] = _Owed(log_id, source)
                else:  # owed again (e.g. a resend): look now, keep the older position
                    owed.due = None
        if batch:
            self._cursor = batch[-1][1]
        await self._deliver_due()

    async def _deliver_due(self) -> None:
        while True:
            now = self.clock()
            due = sorted(
                (o.log_id, key) for key, o in self._owed.items() if o.due is None or o.due <= now
            )
            settled_any = False
            for _, key in due:
                settled_any |= await self._deliver_one(key, now)
            # A message settled: messages of the same person held behind it may go now.
            if not settled_any or not any(o.due is None for o in self._owed.values()):
                return

    async def _deliver_one(self, key: Hashable, now: datetime) -> bool:
        owed = self._owed[key]
        decision = await asyncio.to_thread(self.prepare, key, owed.source, now)
        if decision is None:
            del self._owed[key]
            return False
        if isinstance(decision, Later):
            owed.due, owed.lane = decision.until, decision.lane
            return False
        outcome = await self.mailer.deliver(decision.message)
        retry_at = await asyncio.to_thread(self.record, key, decision, outcome, now)
        if isinstance(outcome, Accepted):
            log.debug("%s: delivered %s", self.name, key)
        else:
            log.warning(
                "%s: message %s %s: %s",
                self.name,
                key,
                "retries at " + retry_at.isoformat(timespec="seconds") if retry_at else "given up",
                outcome.reason,
            )
        if retry_at is not None:
            owed.due = retry_at
            return False
        del self._owed[key]
        for other in self._owed.values():
            if other.lane is not None and other.lane == decision.lane:
                other.due = None
        return True

    async def _save_low_water(self) -> None:
        assert self._cursor is not None
        oldest = min((o.log_id for o in self._owed.values()), default=None)
        position = self._cursor if oldest is None else oldest - 1
        if self._saved is None or position > self._saved:
            await self.save_position(position)
            self._saved = position

    @property
    def waiting(self) -> int:
        """How many messages wait (for a retry, or behind a person's earlier one)."""
        return len(self._owed)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await super().run(stop)
        finally:
            await self.mailer.close()
