"""Run one service process: its HTTP API, its Kafka consumers and its log followers
(relay, mailers, read-model projectors) in one event loop, stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from runtime.follower import LogFollower

log = logging.getLogger(__name__)

#: How long a thread may keep the GIL while another waits for it (CPython's default is
#: 5 ms). eventsourcing saves in a worker thread holding PostgreSQL's lock on the events
#: table until it commits; each time that thread wakes from the database it must get
#: the GIL back, and with the default it can wait 5 ms for it while every other save
#: queues behind the table lock. Measured in bench/ on a noisy shared machine: saves
#: from four threads 240-250 -> 430 per second; over HTTP the gain was within the noise.
GIL_SWITCH_INTERVAL = 0.001


@dataclass
class ServiceProcess:
    """Everything one service runs. Built by the service's bootstrap, run by its
    entrypoint; tests run the same object in-process or as a subprocess."""

    name: str
    broker: KafkaBroker
    followers: Sequence[LogFollower] = ()
    http: FastAPI | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 0
    #: How long an idle keep-alive connection stays open (see ServiceSettings).
    http_keep_alive_seconds: int = 75
    #: Called after everything stopped, in order (close pools, the event store).
    closers: Sequence[Callable[[], Awaitable[None] | None]] = ()
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop_event.set)
                handled.append(sig)
        await self.broker.start()
        tasks = [asyncio.create_task(f.run(self.stop_event), name=f.name) for f in self.followers]
        server = None
        if self.http is not None:
            self.http.add_api_route(
                "/health/followers",
                self.followers_health,
                methods=["GET"],
                summary="Which log followers are active in this instance",
                tags=["health"],
            )
            config = self.http_config()
            # uvicorn (>= 0.29) takes SIGINT/SIGTERM itself while it serves, stops the
            # HTTP server, then restores our handlers and raises the signal again, which
            # sets `stop_event`: HTTP stops first, then consumers, followers, broker.
            server = uvicorn.Server(config)
            tasks.append(asyncio.create_task(server.serve(), name=f"{self.name}:http"))
        log.info("%s started", self.name)
        try:
            await self.stop_event.wait()
        finally:
            if server is not None:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broker.stop()
            for close in self.closers:
                result = close()
                if result is not None:
                    await result
            # Give the signals back: the loop may be shared (a test session), and Ctrl-C
            # must reach its owner again once this service is stopped.
            for sig in handled:
                loop.remove_signal_handler(sig)
            log.info("%s stopped", self.name)

    def http_config(self) -> uvicorn.Config:
        assert self.http is not None
        return uvicorn.Config(
            self.http,
            host=self.http_host,
            port=self.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
            # uvicorn's default (5 s) equals many clients' idle timeout: the server
            # could close a connection just as the client reused it, which the
            # client sees as "Server disconnected without sending a response".
            timeout_keep_alive=self.http_keep_alive_seconds,
        )

    def followers_health(self) -> dict[str, Any]:
        """Of each log follower, whether this instance is the one following the log
        (`active`) or stands by while another instance does (`standby`); and of those
        whose steps fail in a row (a relay held by an event it cannot publish, a mailer
        whose server does not answer), since when, how many times and the error's type.
        """
        from runtime.leadership import INSTANCE

        return {
            "instance": INSTANCE,
            "followers": {f.name: "active" if f.active else "standby" for f in self.followers},
            "failing": {
                f.name: {
                    "since": f.failing.since.isoformat(),
                    "attempts": f.failing.attempts,
                    "error": f.failing.error,
                }
                for f in self.followers
                if f.failing is not None
            },
        }


def serve(build: Callable[[], Awaitable[ServiceProcess]]) -> None:
    """The body of every service's `serve` command: log to stderr, build the process
    (the service's bootstrap, which connects), run it until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)

    async def main() -> None:
        process = await build()
        await process.run()

    asyncio.run(main())


def print_quarantine(app: Any) -> None:
    """The body of every consuming service's `quarantine` command (see
    `runtime.quarantine`)."""
    from runtime.quarantine import print_quarantine as print_table

    print_table(app)
