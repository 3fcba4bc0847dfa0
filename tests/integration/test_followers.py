"""Log followers on the real PostgreSQL: with two instances of a service running, each
follower is active in one of them only, the other takes over when it goes away, and a
follower is woken by the store as soon as an event is committed (not by its poll)."""

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event

from infra import InfraSettings, postgres
from runtime.application import ServiceApplication
from runtime.follower import LogFollower
from tests.support import database_of, eventually


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class NotesApplication(ServiceApplication):
    name = "follower_probe"


class Collector(LogFollower):
    """Collects the texts it is handed: a stand-in for a mailer or a relay."""

    def __init__(self, app: NotesApplication, seen: list[str], **kwargs: Any) -> None:
        super().__init__(app, name="collector", **kwargs)
        self.seen = seen

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        self.seen.extend(e.text for e, _ in batch)


def env(infra: InfraSettings, database: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": infra.pg_host,
        "POSTGRES_PORT": str(infra.pg_port),
        "POSTGRES_USER": infra.pg_user,
        "POSTGRES_PASSWORD": infra.pg_password,
        "CREATE_TABLE": "y",
    }


@pytest.fixture
def instances(infra: InfraSettings) -> Iterator[tuple[NotesApplication, NotesApplication]]:
    """Two instances of one service: two applications on the same event store."""
    database = database_of("followers")
    postgres.drop_database(infra, database)
    postgres.ensure_database(infra, database)
    first = NotesApplication(env(infra, database))
    second = NotesApplication(env(infra, database))
    yield first, second
    first.close()
    second.close()


def write(app: NotesApplication, *texts: str) -> None:
    for text in texts:
        app.save(Note(text))


async def test_two_instances_follow_the_log_as_one_and_the_standby_takes_over(instances):
    first_app, second_app = instances
    first_seen: list[str] = []
    second_seen: list[str] = []
    # Given the follower running in two instances of the service
    first = Collector(first_app, first_seen, standby_retry_seconds=0.2)
    second = Collector(second_app, second_seen, standby_retry_seconds=0.2)
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first_task = asyncio.create_task(first.run(first_stop))
    await eventually(lambda: first.active, what="the first instance to be active")
    second_task = asyncio.create_task(second.run(second_stop))

    # When events are written through either instance
    texts = [f"note-{uuid.uuid4().hex[:6]}" for _ in range(6)]
    write(first_app, *texts[:3])
    write(second_app, *texts[3:])

    # Then the active instance handles each once and the other none
    await eventually(lambda: sorted(first_seen) == sorted(texts), what="all notes handled")
    assert second_seen == []
    assert not second.active

    # When the active instance goes away
    first_stop.set()
    await first_task
    # Then the standby takes over, from where the first one stopped
    later = [f"later-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    write(first_app, *later)
    await eventually(lambda: second_seen == later, what="the standby to take over")
    assert sorted(first_seen) == sorted(texts), "nothing handled twice"
    assert second.active
    second_stop.set()
    await second_task


async def test_a_follower_is_woken_by_a_new_event_rather_than_by_its_poll(instances):
    app, _ = instances
    seen: list[str] = []
    # Given a follower whose fallback poll is a minute, idle on an empty log
    follower = Collector(app, seen, idle_seconds=60)
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    await eventually(lambda: follower.active, what="the follower to be active")
    await asyncio.sleep(0.2)  # let it reach its idle wait

    # When an event is committed, then it is handled long before the next poll
    write(app, "wake up")
    await eventually(lambda: seen == ["wake up"], timeout=20, what="the note handled")
    stop.set()
    await task


def locks(infra: InfraSettings, select: str) -> list[tuple[object, ...]]:
    """`select` over the advisory locks held in the test database."""
    with psycopg.connect(infra.postgres_dsn(database_of("followers"))) as conn:
        return conn.execute(
            f"SELECT {select} FROM pg_locks l JOIN pg_database d"
            " ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = %s",
            (database_of("followers"),),
        ).fetchall()


async def test_a_follower_whose_database_connection_drops_takes_its_lease_again(
    instances, infra: InfraSettings
):
    app, _ = instances
    seen: list[str] = []
    follower = Collector(app, seen, standby_retry_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    await eventually(lambda: follower.active, what="the follower to be active")

    # When the database ends the session that holds the lease (a restart, a failover)
    assert locks(infra, "pg_terminate_backend(l.pid)") == [(True,)]

    # Then the follower takes its lease again and goes on
    await eventually(lambda: locks(infra, "l.granted") == [(True,)], what="the lease taken again")
    write(app, "after the drop")
    await eventually(lambda: seen == ["after the drop"], what="the note handled")
    assert follower.active
    stop.set()
    await task


class Choosy(Collector):
    """A follower that cannot take a note marked `poison` until it is cured: a handler
    failing on one stored event (a relay's translation, a mail it cannot render)."""

    cured = False

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        if not self.cured and any(e.text == "poison" for e, _ in batch):
            raise ValueError("cannot take it")
        await super().handle(batch)


async def test_a_follower_held_by_an_event_it_cannot_take_says_so_in_its_health(instances):
    from runtime.process import ServiceProcess

    app, _ = instances
    seen: list[str] = []
    follower = Choosy(app, seen, batch_size=1)
    process = ServiceProcess(name="follower_probe", broker=None, followers=[follower])  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    write(app, "fine", "poison", "after")

    # It stops at the event it cannot take, says since when and why (the type only:
    # the route is public), and goes on trying.
    await eventually(lambda: follower.failing and follower.failing.attempts >= 2, what="retries")
    failing = process.followers_health()["failing"]["collector"]
    assert failing["error"] == "ValueError" and failing["attempts"] >= 2
    assert seen == ["fine"]

    # Once it can, it moves on, and its health no longer shows it failing.
    follower.cured = True
    await eventually(lambda: seen == ["fine", "poison", "after"], timeout=30, what="moved on")
    assert process.followers_health()["failing"] == {}
    assert process.followers_health()["followers"] == {"collector": "active"}
    stop.set()
    await task
