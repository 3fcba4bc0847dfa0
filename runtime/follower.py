"""Follow a service's own notification log, at least once, from a tracked position."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.application import Application
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from runtime.failures import describe_failure
from runtime.leadership import Lease, wait_any

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Failing:
    """A follower that cannot move on: since when, how many attempts in a row, and the
    last error's type (only its type: /health/followers is public). A stored event its
    handler cannot take, or a broker, mail server or database that does not answer,
    holds the follower at its position; the operator sees it here, the details are in
    the service's log."""

    since: datetime
    attempts: int
    error: str

    def again(self, error: BaseException) -> Failing:
        return Failing(self.since, self.attempts + 1, type(error).__name__)

    @classmethod
    def first(cls, error: BaseException) -> Failing:
        return cls(datetime.now(UTC), 1, type(error).__name__)


class LogFollower(ABC):
    """Reads the application's notification log in batches after the position recorded
    under `name`, hands each batch to `handle`, then records the new position.

    One instance at a time follows (it holds the follower's lease, see
    `runtime.leadership`); in the others the follower stands by, ready to take over.

    Delivery is at least once: a crash after `handle` and before the position is
    recorded repeats the batch, so `handle` must be idempotent downstream (events carry
    deterministic ids; e-mails deterministic Message-IDs).
    """

    #: The domain event classes this follower acts on; the others are not even read
    #: (the store filters them by topic, so they cost no decoding). Empty: every event.
    #: The filter is by the topic stored with each event, derived from the class: do not
    #: list a class renamed since (events stored under its old topic would be missed).
    event_types: tuple[type[Any], ...] = ()

    def __init__(
        self,
        app: Application[Any],
        *,
        name: str,
        batch_size: int = 500,
        idle_seconds: float = 1.0,
        standby_retry_seconds: float = 1.0,
    ) -> None:
        if not isinstance(app.recorder, ProcessRecorder):
            raise TypeError("LogFollower needs an application with a ProcessRecorder")
        self.app = app
        self.recorder: ProcessRecorder = app.recorder
        self.name = name
        self.batch_size = batch_size
        #: The fallback poll: new events normally wake the follower at once (NOTIFY).
        self.idle_seconds = idle_seconds
        #: How often a standby instance tries to take over the follower.
        self.standby_retry_seconds = standby_retry_seconds
        #: Whether this instance is the one following now (shown in /health/followers).
        self.active = False
        #: Set while its steps fail in a row (shown in /health/followers); None when the
        #: last step succeeded.
        self.failing: Failing | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (the store) in this follower's own thread.

        Not `asyncio.to_thread`: that is the loop's default pool (min(32, cores + 4)
        threads, 6 here), shared with the HTTP commands; under load each of the
        follower's reads and position writes waited behind every queued command
        (measured in bench/ at concurrency 32: the answer-to-Kafka time was 290 ms at
        p50, most of it the relay waiting for a thread). A follower does one thing at a
        time, so one thread of its own is enough."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(function, *args))

    @abstractmethod
    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        """Act on (domain event, notification id) pairs, in log order."""

    def on_activated(self) -> None:  # noqa: B027 - a hook, empty by default
        """Called each time this instance becomes the active one. A follower that keeps
        state in memory between steps forgets it here: while it stood by, another
        instance moved on, and only the recorded position tells how far."""

    async def load_position(self) -> int:
        """The last notification id handled; kept in the service's tracking table.
        Followers that keep their position with their effect (read models) override
        this and `save_position`."""
        return await self.in_thread(self.recorder.max_tracking_id, self.name) or 0

    async def save_position(self, notification_id: int) -> None:
        await self.in_thread(self.recorder.insert_tracking, Tracking(self.name, notification_id))

    def _read_after(self, position: int) -> list[tuple[Any, int]]:
        notifications = self.recorder.select_notifications(
            start=position,
            limit=self.batch_size,
            topics=[get_topic(cls) for cls in self.event_types],
            inclusive_of_start=False,
        )
        return [(self.app.mapper.to_domain_event(n), n.id) for n in notifications]

    async def step(self) -> int:
        """Process one batch; returns how many notifications it covered."""
        position = await self.load_position()
        batch = await self.in_thread(self._read_after, position)
        if not batch:
            return 0
        await self.handle(batch)
        await self.save_position(batch[-1][1])
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until `stop` is set, while this instance holds the follower's
        lease (see `runtime.leadership`); stand by while another instance holds it.
        Errors are logged and retried after a pause, so a broker or mail server outage
        delays work without losing it; a lost database connection gives the lease up
        and takes it again (here or elsewhere) once the database answers."""
        try:
            await self._run(stop)
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=False)
                self._thread = None

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with Lease(
                    self.app, self.name, standby_retry_seconds=self.standby_retry_seconds
                ) as lease:
                    if await lease.acquire(stop):
                        self.active = True
                        self.on_activated()
                        await self._follow(stop, lease)
            except Exception as error:
                self._failed(error)
                log.error(
                    "%s cannot hold its lease (database unreachable?); trying again in %.1fs: %s",
                    self.name,
                    self.standby_retry_seconds,
                    describe_failure(error),
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.standby_retry_seconds)
            finally:
                self.active = False

    def _failed(self, error: BaseException) -> None:
        self.failing = Failing.first(error) if self.failing is None else self.failing.again(error)

    async def _follow(self, stop: asyncio.Event, lease: Lease) -> None:
        retry_in = 0.0  # after a failure: 0.5 s, doubling up to 10 s
        while not stop.is_set():
            if not lease.held:
                raise ConnectionError("the lease connection closed")
            # Cleared before reading: an event committed while this step reads is
            # announced after, and wakes the next wait instead of being missed.
            lease.woken.clear()
            try:
                count = await self.step()
                retry_in = 0.0
                self.failing = None
            except Exception as error:
                self._failed(error)
                retry_in = min(max(retry_in * 2, 0.5), 10.0)
                log.error(
                    "%s failed; retrying in %.1fs: %s", self.name, retry_in, describe_failure(error)
                )
                # Only the pause counts: waking on every new event would defeat it.
                await wait_any(stop, lease.lost, timeout=retry_in)
                continue
            if count < self.batch_size:
                # New events wake the follower at once; the timeout is the fallback poll
                # (for a notification missed while the listening connection reconnects).
                await wait_any(stop, lease.lost, lease.woken, timeout=self.idle_seconds)
