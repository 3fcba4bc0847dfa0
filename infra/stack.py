"""The whole local stack -- PostgreSQL, Kafka, SMTP -- brought up and down in one call.

Used by the CLI (``python -m infra up|down|status``) and by pytest session fixtures::

    from infra import InfraSettings, up

    @pytest.fixture(scope="session")
    async def infra() -> InfraSettings:
        settings = InfraSettings()
        await up(settings)
        return settings

``up`` is idempotent and fast when everything already runs, so fixtures can call it
unconditionally; they should normally not call ``down`` (the next run reuses the stack).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Iterable, Sequence

import psycopg
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from infra import kafka, postgres, smtp
from infra._process import InfraError, StartResult, Status
from infra.services import SERVICES
from infra.settings import InfraSettings

#: The revocation store of bearer tokens (runtime/identity/revocations.py).
IDENTITY_DATABASE = "jip_identity"
#: One database per service (each service owns its event store / read models), and the
#: revocation store.
DATABASES: tuple[str, ...] = (
    *(f"jip_{service}" for service in SERVICES),
    IDENTITY_DATABASE,
)

#: Called after every step with (component, what happened, seconds it took).
Reporter = Callable[[str, str, float], None]


def _silent(component: str, message: str, seconds: float) -> None:
    """The default reporter: say nothing."""


def project_topics() -> list[str]:
    """Topic names from ``events.topics.ALL_TOPICS`` and ``DEAD_LETTER_TOPICS``, or
    ``[]`` if that module is absent.

    Items may be plain names or objects with a ``name`` attribute. Only a missing
    ``events`` / ``events.topics`` module is tolerated; an error *inside* it propagates.
    """
    try:
        module = importlib.import_module("events.topics")
    except ModuleNotFoundError as exc:
        if exc.name in ("events", "events.topics"):
            return []
        raise
    # The event topics, then the consumers' dead-letter topics (created alike).
    items: Iterable[object] = (
        *getattr(module, "ALL_TOPICS", ()),
        *getattr(module, "DEAD_LETTER_TOPICS", ()),
    )
    return [item if isinstance(item, str) else str(item.name) for item in items]  # type: ignore[attr-defined]


def _describe(result: StartResult) -> str:
    pid = f" (pid {result.pid})" if result.pid else ""
    return result.detail + pid


async def up(
    settings: InfraSettings | None = None,
    *,
    topics: Sequence[str] | None = None,
    databases: Sequence[str] = DATABASES,
    report: Reporter | None = None,
) -> None:
    """Start PostgreSQL, Kafka and the SMTP server (in that order) unless already running.

    Also ensures the ``jip`` role, the service ``databases`` and the Kafka ``topics``
    (default: :func:`project_topics`). Raises :class:`InfraError` with an explanation
    (and log tails) when a part cannot start.
    """
    settings = settings or InfraSettings()
    say = report or _silent
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    # The blocking parts run in a worker thread so that a caller's event loop (a pytest
    # session with other async fixtures) is not stalled for seconds.
    result = await asyncio.to_thread(postgres.start, settings)
    say("postgres", _describe(result), time.monotonic() - t0)

    t0 = time.monotonic()
    try:
        created_dbs = [
            name
            for name in databases
            if await asyncio.to_thread(postgres.ensure_database, settings, name)
        ]
    except psycopg.Error as exc:
        raise InfraError(f"Could not create the service databases: {exc}") from exc
    say(
        "databases",
        f"created {', '.join(created_dbs)}" if created_dbs else f"{len(databases)} present",
        time.monotonic() - t0,
    )

    t0 = time.monotonic()
    await asyncio.to_thread(postgres.ensure_keystore, settings)
    say("key store", f"{settings.keystore_database}, its own role", time.monotonic() - t0)

    t0 = time.monotonic()
    result = await kafka.start(settings)
    say("kafka", _describe(result), time.monotonic() - t0)

    t0 = time.monotonic()
    wanted = list(topics) if topics is not None else project_topics()
    try:
        created = await kafka.ensure_topics(settings, wanted)
    except KafkaError as exc:
        raise InfraError(f"Could not create the Kafka topics: {exc!r}") from exc
    if not wanted:
        message = (
            "none requested"
            if topics is not None
            else "none to create (events.topics.ALL_TOPICS not found or empty)"
        )
    elif created:
        message = (
            f"created {len(created)} of {len(wanted)} ({settings.kafka_partitions} partitions)"
        )
    else:
        message = f"{len(wanted)} present"
    say("topics", message, time.monotonic() - t0)

    t0 = time.monotonic()
    result = await asyncio.to_thread(smtp.start, settings)
    say("smtp", _describe(result), time.monotonic() - t0)


def down(
    settings: InfraSettings | None = None,
    *,
    postgres_too: bool = False,
    report: Reporter | None = None,
) -> None:
    """Stop the SMTP server and Kafka (and PostgreSQL if ``postgres_too``).

    Only processes that ``up`` started (recorded in ``var/run/*.pid``) are stopped. The
    PostgreSQL cluster is shared with the rest of the machine, so it keeps running unless
    explicitly asked.
    """
    settings = settings or InfraSettings()
    say = report or _silent
    for name, stop in (("smtp", smtp.stop), ("kafka", kafka.stop)):
        t0 = time.monotonic()
        say(name, stop(settings), time.monotonic() - t0)
    if postgres_too:
        t0 = time.monotonic()
        say("postgres", postgres.stop(settings), time.monotonic() - t0)


async def status(settings: InfraSettings | None = None) -> list[Status]:
    """The state of every component, in start order."""
    settings = settings or InfraSettings()
    return [postgres.status(settings), await kafka.status(settings), smtp.status(settings)]
