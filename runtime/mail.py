"""Outgoing e-mail, the same for every service that writes to people: one SMTP client
that keeps its connections and says what became of each message, and one mailer that
follows the service's own log and delivers every message owed.

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
is recorded durably before its connection sends the next message, so at most the
messages in flight, one per SMTP connection (one by default), can be sent twice, with
the same Message-ID (so the recipient's mail system can tell). Messages of one person go
one at a time, in the order the service decides (`MailFollower.prepare`); a message
waiting for its retry holds back only that person's later messages.

Addresses and texts are personal data: this module never logs them, and the SMTP
library's errors (which may quote the address) are replaced by reasons that give the
reply code only.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTPUTF8
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Final

import aiosmtplib
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, PersistenceError
from eventsourcing.utils import get_topic

from runtime.failures import describe_failure
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
# Messages are built with the email package's legacy (compat32) API: the modern one
# (EmailMessage, policy=default) parses and re-folds every header on assignment, which
# cost more CPU per message (about 1.5 ms) than all the rest of composing and sending.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in any mail client's "view source", unlike base64


def _header(value: str, name: str) -> str | Header:
    """A header value as it can be written: non-ASCII text as RFC 2047 encoded words.
    Given as a `Header` (not its encoded text) so that the generator folds it knowing the
    header's name: an encoded text folds as if it began the line, and the first encoded
    word then lands on a continuation line, which readers decode with a leading space."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _writable(value: str) -> bool:
    """Fits on one header line: the compat32 API does not refuse line breaks itself."""
    return "\r" not in value and "\n" not in value


class SmtpMailer:
    """Connections to the mail server, opened when first needed and kept for many
    messages (a new connection per message costs a TCP handshake and an EHLO: most of
    the time of a local delivery). With `connections` > 1, that many messages can be in
    flight at once (for different people: `MailFollower` keeps one person's in order)."""

    def __init__(
        self, host: str, port: int, sender: str, *, timeout: float = 30.0, connections: int = 1
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.connections = max(1, connections)
        #: The sender's address alone (the SMTP envelope's MAIL FROM).
        self.sender_address = parseaddr(sender)[1]
        #: Right-hand side of our Message-IDs: the sender's own domain.
        self.domain = self.sender_address.rpartition("@")[2] or "jip.example"
        self._idle: list[aiosmtplib.SMTP] = []
        self._free: asyncio.Semaphore | None = None

    def compose(
        self, to: str, subject: str, body: str, message_id: str, *, html: str | None = None
    ) -> Message:
        """A plain-text message, or with `html` a multipart/alternative one (the text
        first: a client shows the last part it can, so HTML where it is read). Never
        raises for a bad address: `deliver` refuses it."""
        text = MIMENonMultipart("text", "plain")
        text.set_payload(body, _UTF8_QP)
        message: Message = text
        if html is not None:
            rich = MIMENonMultipart("text", "html")
            rich.set_payload(html, _UTF8_QP)
            for part in (text, rich):
                del part["MIME-Version"]  # said once, by the whole message
            message = MIMEMultipart("alternative", _subparts=[text, rich])
        # Only the display name is encoded: the address stays as it is, as RFC 5322 wants.
        message["From"] = formataddr(parseaddr(self.sender), charset="utf-8")
        message["To"] = to
        # The compat32 Message takes a Header (documented; typeshed says str).
        message["Subject"] = _header(subject, "Subject")  # type: ignore[assignment]
        message["Date"] = format_datetime(utc_now())
        # Deterministic, given by the caller: a message sent again after a crash is
        # recognisably the same message to the recipient's mail system.
        # (email.utils.make_msgid is not: it adds the time, the pid and a random number.)
        message["Message-ID"] = message_id
        # RFC 3834: automatic replies (vacation notices) must not answer this message.
        message["Auto-Submitted"] = "auto-generated"
        return message

    async def _connect(self) -> aiosmtplib.SMTP:
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
            smtp.close()
            raise MailServerUnavailable(
                f"mail server unreachable ({type(error).__name__})"
            ) from None
        return smtp

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def deliver(self, message: Message) -> Delivery:
        """Hand one message to the mail server; say what became of it. Raises
        `MailServerUnavailable` when no message could be delivered now."""
        if self._free is None:
            self._free = asyncio.Semaphore(self.connections)
        async with self._free:
            # A kept connection may have been closed by the server while idle; that
            # shows only when it is used: one new connection, then the server is down.
            for last_try in (False, True):
                smtp = self._idle.pop() if self._idle and not last_try else await self._connect()
                try:
                    delivery = await self._send(smtp, message)
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
                    smtp.close()
                    if last_try:
                        raise MailServerUnavailable("mail server closed the connection") from None
                    continue
                except MailServerUnavailable:
                    smtp.close()
                    raise
                self._idle.append(smtp)
                return delivery
        raise AssertionError("unreachable")

    async def _send(self, smtp: aiosmtplib.SMTP, message: Message) -> Delivery:
        to = str(message["To"])
        if not _writable(to) or not _writable(str(message["Message-ID"])):
            return Refused("address cannot be written in an SMTP envelope")
        utf8 = not to.isascii()
        if utf8 and not smtp.supports_extension("smtputf8"):
            return Refused("address has non-ASCII characters; the mail server has no SMTPUTF8")
        # An address with non-ASCII characters goes with SMTPUTF8 and headers in UTF-8.
        try:
            data = message.as_bytes(policy=SMTPUTF8) if utf8 else message.as_bytes()
        except (UnicodeError, ValueError):  # e.g. a lone surrogate in the text
            return Refused("message cannot be written as e-mail")
        try:
            await smtp.sendmail(
                self.sender_address, [to], data, mail_options=["SMTPUTF8"] if utf8 else []
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({r.code for r in error.recipients})
            if codes and all(500 <= code < 600 for code in codes):
                return Refused(f"recipient refused: SMTP {codes[0]}")
            return Deferred(f"recipient deferred: SMTP {codes[0] if codes else '?'}")
        except aiosmtplib.SMTPSenderRefused as error:
            # Our own address refused: every message would be; the operator must act.
            raise MailServerUnavailable(f"sender refused: SMTP {error.code}") from None
        except aiosmtplib.SMTPResponseException as error:
            if error.code == 421:  # "service not available, closing channel"
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
        settings.smtp_host,
        settings.smtp_port,
        settings.mail_from,
        timeout=settings.smtp_timeout,
        connections=settings.smtp_connections,
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

    message: Message = field(repr=False)
    lane: Hashable
    state: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class Later:
    """Not now: look again at `until`, or sooner when a message of `lane` settles
    (an earlier message of the same person was sent or given up)."""

    until: datetime
    lane: Hashable | None = None


@dataclass(frozen=True)
class Settled:
    """What a message's outcome changed: the aggregates to save, and when to try the
    message again (None: it is settled)."""

    retry_at: datetime | None
    changed: Sequence[Any]


@dataclass
class _Unsaved:
    key: Hashable
    send: Send
    outcome: Delivery
    now: datetime
    settled: Settled
    saved: asyncio.Future[datetime | None]


#: How long a message that cannot be prepared waits before it is looked at again.
SET_ASIDE_FOR = timedelta(hours=1)


@dataclass
class _Owed:
    log_id: int
    source: Any
    due: datetime | None = None  # None: due now
    lane: Hashable | None = None


class MailFollower(LogFollower):
    """Follows the service's own log for messages owed and delivers them over the
    mailer's kept SMTP connections, one message in flight on each (and never two of the
    same person at once); each outcome is saved before its connection sends the next
    message, those that finish together in one transaction.

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
        #: Lanes (people) with a message in flight now.
        self._sending: set[Hashable] = set()
        #: Outcomes waiting to be saved, and whether a save is under way.
        self._unsaved: list[_Unsaved] = []
        self._saving = False
        #: Messages settled so far (a message held behind another looks again if one
        #: settled while it was being prepared).
        self._settled_count = 0

    # -- what each service says ----------------------------------------------------------
    @abstractmethod
    def owed_by(self, domain_event: Any) -> Iterable[tuple[Hashable, Any]]:
        """The messages (key, source) an event of the log may have made owed."""

    @abstractmethod
    def prepare(self, key: Hashable, source: Any, now: datetime) -> Send | Later | None:
        """The message to send now, or when to look again, or None when nothing is owed
        (already settled). Called in a worker thread (it reads the store)."""

    @abstractmethod
    def settle(self, key: Hashable, send: Send, outcome: Delivery, now: datetime) -> Settled:
        """Apply the outcome to what `prepare` loaded, without saving: the mailer saves
        the outcomes of the messages that finished together in one transaction."""

    @abstractmethod
    def record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        """Record the outcome on its own, reading the current state again (saving it
        together with others failed: something changed meanwhile); return when to try
        again, if ever. Called in a worker thread."""

    # -- the loop ------------------------------------------------------------------------
    def _read_watched_after(self, position: int) -> list[tuple[Any, int]]:
        notifications = self.recorder.select_notifications(
            start=position,
            limit=self.batch_size,
            topics=self._topics,
            inclusive_of_start=False,
        )
        return [(self.app.mapper.to_domain_event(n), n.id) for n in notifications]

    def on_activated(self) -> None:
        # Another instance may have sent and recorded what this one still holds as
        # owed: start again from the recorded position.
        self._cursor = self._saved = None
        self._owed.clear()

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
        """Deliver every message due, oldest owed first, over the mailer's connections
        at once (one message in flight on each), then again for messages a settled one
        released, until nothing more is due."""
        while True:
            now = self.clock()
            due = deque(
                sorted(
                    (key for key, o in self._owed.items() if o.due is None or o.due <= now),
                    key=lambda key: self._owed[key].log_id,
                )
            )
            settled = await self._deliver_pass(due, now)
            # A message settled: messages of the same person held behind it may go now.
            if not settled or not any(o.due is None for o in self._owed.values()):
                return

    async def _deliver_pass(self, due: deque[Hashable], now: datetime) -> int:
        """Deliver the messages in `due`, one per connection at a time; returns how many
        settled. A failure (the server down, the store unreachable) stops the pass once
        the messages in flight are done, and is raised."""
        settled = 0
        failure: Exception | None = None

        async def work() -> None:
            nonlocal settled, failure
            while due and failure is None:
                try:
                    settled += await self._deliver_one(due.popleft(), now)
                except Exception as error:
                    failure = failure or error

        workers = min(self.mailer.connections, len(due))
        if workers == 1:
            await work()
        else:
            await asyncio.gather(*(work() for _ in range(workers)))
        if failure is not None:
            raise failure
        return settled

    async def _deliver_one(self, key: Hashable, now: datetime) -> bool:
        owed = self._owed.get(key)
        if owed is None:
            return False
        settled_before = self._settled_count
        try:
            decision = await asyncio.to_thread(self.prepare, key, owed.source, now)
        except PersistenceError:
            raise  # the store is unreachable: every message waits
        except Exception as error:
            # This one message cannot be written (a bug, or data no template foresaw).
            # It must not stop everyone else's: set aside, looked at again later (and
            # after a restart, since it keeps the mailer's saved position back).
            log.error(
                "%s: message %s cannot be prepared; set aside for %s: %s",
                self.name,
                key,
                SET_ASIDE_FOR,
                describe_failure(error),
            )
            owed.due = now + SET_ASIDE_FOR
            return False
        if decision is None:
            del self._owed[key]
            return False
        if isinstance(decision, Later):
            owed.due, owed.lane = decision.until, decision.lane
            if decision.lane is not None and self._settled_count != settled_before:
                owed.due = None  # what it waits for may have settled while it was read
            return False
        if decision.lane in self._sending:  # that person's other message is in flight
            owed.due, owed.lane = now + timedelta(seconds=1), decision.lane
            return False
        self._sending.add(decision.lane)
        try:
            outcome = await self.mailer.deliver(decision.message)
            retry_at = await self._record(key, decision, outcome, now)
        finally:
            self._sending.discard(decision.lane)
        if not isinstance(outcome, Accepted):
            log.warning(
                "%s: message %s %s: %s",
                self.name,
                key,
                f"retries at {retry_at.isoformat(timespec='seconds')}" if retry_at else "given up",
                outcome.reason,
            )
        if retry_at is not None:
            owed.due = retry_at
            return False
        del self._owed[key]
        self._settled_count += 1
        for other in self._owed.values():
            if other.lane is not None and other.lane == decision.lane:
                other.due = None
        return True

    async def _record(
        self, key: Hashable, send: Send, outcome: Delivery, now: datetime
    ) -> datetime | None:
        """Record the outcome durably before this connection sends its next message.
        Outcomes of messages that finished while a save was under way are saved
        together, in one transaction (a group commit): each still waits for its own."""
        unsaved = _Unsaved(
            key,
            send,
            outcome,
            now,
            self.settle(key, send, outcome, now),
            asyncio.get_running_loop().create_future(),
        )
        self._unsaved.append(unsaved)
        if not self._saving:
            self._saving = True
            try:
                while self._unsaved:
                    batch, self._unsaved = self._unsaved, []
                    try:
                        retries = await asyncio.to_thread(self._save_together, batch)
                    except Exception as error:
                        for u in batch:
                            u.saved.set_exception(error)
                    else:
                        for u, retry_at in zip(batch, retries, strict=True):
                            u.saved.set_result(retry_at)
            finally:
                self._saving = False
        return await unsaved.saved

    def _save_together(self, batch: Sequence[_Unsaved]) -> list[datetime | None]:
        try:
            self.app.save(*(a for u in batch for a in u.settled.changed))
        except IntegrityError:  # one changed meanwhile: each on its own, read again
            return [self.record(u.key, u.send, u.outcome, u.now) for u in batch]
        return [u.settled.retry_at for u in batch]

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
