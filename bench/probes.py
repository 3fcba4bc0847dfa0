"""Observing the services from outside -- Kafka offsets, the services' own tables, the
Maildir -- and the bare clients (aiokafka, psycopg, aiosmtplib) that give each figure
its limit in the same run."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql

from events.catalog import parse_event
from infra import InfraSettings

Progress = Callable[[int], None]


@dataclass
class Watched:
    """How a count grew until it reached its target (or the time ran out): the rate is
    taken from the first observed progress, so start-up (joining the consumer group,
    connecting) is reported apart and not counted in it."""

    started: float
    first_seen: float | None
    finished: float
    count_at_first: int
    count: int
    target: int

    @property
    def complete(self) -> bool:
        return self.count >= self.target

    @property
    def startup_seconds(self) -> float | None:
        return None if self.first_seen is None else self.first_seen - self.started


async def watch(
    count: Callable[[], Awaitable[int]],
    target: int,
    *,
    timeout: float,
    progress: Progress | None = None,
    interval: float = 0.05,
    baseline: int = 0,
) -> Watched:
    """Poll `count` until it reaches `target` or `timeout` seconds pass; progress is
    first seen when the count exceeds `baseline` (what was done before)."""
    started = time.monotonic()
    first_seen: float | None = None
    count_at_first = 0
    current = 0
    while True:
        current = await count()
        now = time.monotonic()
        if progress:
            progress(current)
        if current > baseline and first_seen is None:
            first_seen, count_at_first = now, current
        if current >= target or now - started > timeout:
            return Watched(started, first_seen, now, count_at_first, current, target)
        await asyncio.sleep(interval)


def rate_window(w: Watched) -> tuple[int, float]:
    """Items and seconds from the first progress to the end: the items seen at the first
    poll are not counted (they were done before it, at an unknown time)."""
    if w.first_seen is None or w.count == w.count_at_first:
        return w.count, w.finished - w.started
    return w.count - w.count_at_first, w.finished - w.first_seen


# --- Kafka ---------------------------------------------------------------------------


async def partitions_of(settings: InfraSettings, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        # As in infra.kafka.read_all: a group-less consumer's metadata does not know a
        # topic it has not been assigned, the admin client does.
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    )


async def end_offsets(settings: InfraSettings, topic: str) -> dict[int, int]:
    partitions = await partitions_of(settings, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


def bare_producer(settings: InfraSettings) -> AIOKafkaProducer:
    """A producer configured as the services' (runtime/kafka.py make_broker)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


async def publish_all(
    settings: InfraSettings, topic: str, records: Sequence[Record], progress: Progress | None = None
) -> float:
    """Send every (key, value, headers) record, wait for all acknowledgements; seconds."""
    producer = bare_producer(settings)
    await producer.start()
    try:
        started = time.monotonic()
        futures = []
        for i, (key, value, headers) in enumerate(records):
            futures.append(await producer.send(topic, value, key=key, headers=headers))
            if progress and i % 500 == 0:
                progress(i)
        await asyncio.gather(*futures)
        elapsed = time.monotonic() - started
        if progress:
            progress(len(records))
        return elapsed
    finally:
        await producer.stop()


async def bare_read(
    settings: InfraSettings, topic: str, count: int, *, parse: bool, timeout: float = 120.0
) -> tuple[int, float]:
    """Read the first `count` records of `topic` from the beginning with a group-less
    consumer (and parse each as a contract event when `parse`); (records, seconds)."""
    partitions = await partitions_of(settings, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        for tp, offset in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, offset)
        started = time.monotonic()
        read = 0
        while read < count and time.monotonic() - started < timeout:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                for record in records:
                    if parse:
                        parse_event(record.value)
                    read += 1
        return read, time.monotonic() - started
    finally:
        await consumer.stop()


class ArrivalRecorder:
    """A bare consumer, in a thread of its own (so the HTTP load in the main loop does
    not delay it), noting when each record arrives, by the correlation id in its headers
    (or its envelope), with the record's CreateTime (set by the producing relay)."""

    def __init__(self, settings: InfraSettings, topic: str, event_type: str) -> None:
        self.settings = settings
        self.topic = topic
        self.event_type = event_type
        #: correlation id -> (wall-clock arrival, record CreateTime in seconds)
        self.arrivals: dict[str, tuple[float, float]] = {}
        self._stop = False
        self._ready = asyncio.Event()
        self._thread_ready: Any = None

    def start(self) -> None:
        import threading

        self._thread_ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="arrivals", daemon=True)
        self._thread.start()
        if not self._thread_ready.wait(30):
            raise RuntimeError("the arrival recorder did not start")

    def stop(self) -> None:
        self._stop = True
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        partitions = await partitions_of(self.settings, self.topic)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
            self._thread_ready.set()
            while not self._stop:
                batches = await consumer.getmany(timeout_ms=50)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        headers = {k: v for k, v in record.headers}
                        kind = headers.get("event_type", b"").decode()
                        cid = headers.get("correlation_id", b"").decode()
                        if not kind or not cid:
                            envelope = json.loads(record.value)
                            kind, cid = envelope["event_type"], envelope["correlation_id"]
                        if kind == self.event_type:
                            self.arrivals[cid] = (now, record.timestamp / 1000)
        finally:
            await consumer.stop()


class TopicGrowth:
    """How many records were appended to a topic since it was opened: what a subscriber
    would see arrive. One consumer kept open, so polling costs one request."""

    def __init__(self, settings: InfraSettings, topic: str) -> None:
        self.settings = settings
        self.topic = topic

    async def __aenter__(self) -> TopicGrowth:
        self.partitions = await partitions_of(self.settings, self.topic)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap)
        await self.consumer.start()
        self.since = await self.consumer.end_offsets(self.partitions)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def count(self) -> int:
        now = await self.consumer.end_offsets(self.partitions)
        return sum(offset - self.since[tp] for tp, offset in now.items())


# --- PostgreSQL ----------------------------------------------------------------------


def connect(settings: InfraSettings, database: str) -> psycopg.Connection[Any]:
    return psycopg.connect(settings.postgres_dsn(database), autocommit=True)


class ConsumedRecords:
    """How many records of `topic` a service's inbox has processed, read from the
    tracking table eventsourcing keeps in the service's database (`<service>_tracking`;
    runtime/inbox.py names each partition's position `kafka:<topic>:<partition>`, the
    next offset to read). Counted against the topic's end offsets given."""

    def __init__(
        self, settings: InfraSettings, database: str, service: str, ends: dict[int, int]
    ) -> None:
        self.conn = connect(settings, database)
        self.table = f"{service}_tracking"
        self.ends = ends

    def close(self) -> None:
        self.conn.close()

    def positions(self, topic: str) -> dict[int, int]:
        try:
            query = sql.SQL(
                "SELECT application_name, max(notification_id) FROM {}"
                " WHERE application_name LIKE %s GROUP BY application_name"
            ).format(sql.Identifier(self.table))
            rows = self.conn.execute(query, (f"kafka:{topic}:%",)).fetchall()
        except psycopg.errors.UndefinedTable:  # the service has not created it yet
            return {}
        return {int(name.rsplit(":", 1)[1]): int(position) for name, position in rows}

    def count(self, topic: str) -> int:
        positions = self.positions(topic)
        return sum(min(positions.get(p, 0), end) for p, end in self.ends.items())


def insert_rows(settings: InfraSettings, database: str, count: int, batch: int) -> float:
    """Seconds to insert `count` rows into a scratch table: one transaction per row on
    one connection (`batch` 1), or `batch` rows per transaction."""
    import uuid

    with connect(settings, database) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, body jsonb NOT NULL)"
        )
        conn.execute("TRUNCATE bench_rows")
        body = json.dumps({"email": "someone@example.org", "cohort_id": "FY2099"})
        started = time.monotonic()
        if batch == 1:
            for _ in range(count):
                conn.execute("INSERT INTO bench_rows VALUES (%s, %s)", (uuid.uuid4(), body))
        else:
            for start in range(0, count, batch):
                size = min(batch, count - start)
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO bench_rows VALUES (%s, %s)",
                        [(uuid.uuid4(), body) for _ in range(size)],
                    )
        elapsed = time.monotonic() - started
        conn.execute("DROP TABLE bench_rows")
        return elapsed


# --- SMTP ----------------------------------------------------------------------------


async def bare_smtp(settings: InfraSettings, count: int, progress: Progress | None = None) -> float:
    """Seconds for a bare aiosmtplib client to send `count` small messages over one
    connection, one after the other."""
    client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, timeout=30)
    await client.connect()
    try:
        started = time.monotonic()
        for i in range(count):
            message = EmailMessage()
            message["From"] = "JIP Program Office <office@jip.example>"
            message["To"] = f"bench-{i}@example.org"
            message["Subject"] = "JIP FY2099: bench message"
            message["Message-ID"] = f"<bench-{i}-{started}@jip.example>"
            message.set_content("A message of about the size of a notification.\n" * 12)
            await client.send_message(message)
            if progress and i % 100 == 0:
                progress(i)
        return time.monotonic() - started
    finally:
        await client.quit()
