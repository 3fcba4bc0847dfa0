"""Which instance of a service follows its log, and when there is something new to read.

Several instances of a service may run at once (for availability, or during a rolling
deploy). Their Kafka consumers share partitions through the consumer group, but a log
follower (the relay, a mailer, a read-model projector) reads the *whole* log: two
active copies would publish every event and send every e-mail twice. So each follower
is active in one instance at a time. It holds a PostgreSQL session-level advisory lock,
named after the service and the follower, on a connection of its own for as long as it
follows. The other instances stand by, trying to take the lock every
`standby_retry_seconds`; when the active instance dies its connection closes,
PostgreSQL releases the lock, and a standby takes over within that interval.

The same connection LISTENs on the channel eventsourcing NOTIFYs in every transaction
that inserts events (see `PostgresApplicationRecorder._notify_channel`; the channel is
named after the events table, hence after the application), so a follower wakes as
soon as an event is committed instead of waiting for its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
from types import TracebackType
from typing import Any, cast

import asyncpg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder

log = logging.getLogger(__name__)

#: Who this process is, in /health and in the log: host and pid.
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


def lock_key(application_name: str, follower_name: str) -> int:
    """The advisory lock's key: a stable signed 64-bit hash of service and follower.
    (PostgreSQL's own `hashtext` is not guaranteed stable across major versions.)"""
    digest = hashlib.sha256(f"{application_name}:{follower_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    """The right to act as one follower, with a wake-up for new events.

    Use as `async with Lease(...) as lease: if await lease.acquire(stop): ...`; leaving
    the block closes the connection, which releases the lock. An application without a
    PostgreSQL store (the in-memory one of unit tests) is a single process: the lease
    is then always held and never wakes, and the follower simply polls.
    """

    def __init__(
        self, app: Application[Any], follower_name: str, *, standby_retry_seconds: float = 1.0
    ) -> None:
        self.follower_name = follower_name
        self.standby_retry_seconds = standby_retry_seconds
        self.key = lock_key(app.name, follower_name)
        recorder = app.recorder
        self._postgres: dict[str, Any] | None = None
        self._channel: str | None = None
        if isinstance(recorder, PostgresApplicationRecorder):
            # The same server, database and role as the event store's own pool.
            params = cast(dict[str, Any], recorder.datastore.pool.kwargs)
            self._postgres = {
                "host": params["host"],
                "port": int(params["port"]),
                "database": params["dbname"],
                "user": params["user"],
                "password": params["password"],
            }
            self._channel = recorder.channel_name
        self.woken = asyncio.Event()
        self.lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._held = False

    async def __aenter__(self) -> Lease:
        if self._postgres is not None:
            self._conn = await asyncpg.connect(**self._postgres)
            self._conn.add_termination_listener(lambda _conn: self.lost.set())
            assert self._channel is not None
            await self._conn.add_listener(self._channel, self._on_notify)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held = False
        if self._conn is not None:
            # Closing the session releases the advisory lock for a standby to take.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), timeout=5)
            self._conn = None

    def _on_notify(self, *_: Any) -> None:
        self.woken.set()

    @property
    def held(self) -> bool:
        """Whether this instance may act now: it holds the lock on a live connection."""
        if self._postgres is None:
            return True
        return self._held and self._conn is not None and not self._conn.is_closed()

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this instance holds the lock (True) or `stop` is set (False)."""
        if self._postgres is None:
            return not stop.is_set()
        assert self._conn is not None
        announced = False
        while not stop.is_set():
            if self._conn.is_closed():
                raise ConnectionError(f"{self.follower_name}: lease connection closed")
            if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                self._held = True
                log.info("%s active in this instance (%s)", self.follower_name, INSTANCE)
                return True
            if not announced:
                log.info(
                    "%s standing by in this instance (%s): active in another",
                    self.follower_name,
                    INSTANCE,
                )
                announced = True
            await wait_any(stop, self.lost, timeout=self.standby_retry_seconds)
        return False


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any of `events` is set or after `timeout` seconds."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
