"""Follow a service's own notification log, at least once, from a tracked position."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from runtime.failures import describe_failure

log = logging.getLogger(__name__)


class LogFollower(ABC):
    """Reads the application's notification log in batches after the position recorded
    under `name`, hands each batch to `handle`, then records the new position.

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
        idle_seconds: float = 0.1,
    ) -> None:
        if not isinstance(app.recorder, ProcessRecorder):
            raise TypeError("LogFollower needs an application with a ProcessRecorder")
        self.app = app
        self.recorder: ProcessRecorder = app.recorder
        self.name = name
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds

    @abstractmethod
    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        """Act on (domain event, notification id) pairs, in log order."""

    async def load_position(self) -> int:
        """The last notification id handled; kept in the service's tracking table.
        Followers that keep their position with their effect (read models) override
        this and `save_position`."""
        return await asyncio.to_thread(self.recorder.max_tracking_id, self.name) or 0

    async def save_position(self, notification_id: int) -> None:
        await asyncio.to_thread(self.recorder.insert_tracking, Tracking(self.name, notification_id))

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
        batch = await asyncio.to_thread(self._read_after, position)
        if not batch:
            return 0
        await self.handle(batch)
        await self.save_position(batch[-1][1])
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the log until `stop` is set. Errors are logged and retried after a
        pause, so a broker or mail server outage delays work without losing it."""
        backoff = self.idle_seconds
        while not stop.is_set():
            try:
                count = await self.step()
                backoff = self.idle_seconds
            except Exception as error:
                log.error(
                    "%s failed; retrying in %.1fs: %s", self.name, backoff, describe_failure(error)
                )
                count = 0
                backoff = min(backoff * 2 if backoff >= 0.5 else 0.5, 10.0)
            if count < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
