"""Tamper evidence: walk the topics, and a service's own store, and report every place
where the log does not hold together.

- `read_topics` reads every record of some topics, from the beginning up to the end
  offsets taken when it starts (no consumer group, nothing committed);
- `verify_records` checks the hash chain of each aggregate's events from each producer
  on those records (`events.chain.chain_breaks`: missing, reordered, altered events, and
  copies of an event id with other content), and reports a record that is not an
  envelope at all;
- `verify_store` is a publishing service's own check: every public event it stored, up
  to where its relay has published, is translated and chained again from the store and
  compared with the record on its topic. A stored event changed after publication, one
  that never reached the topic, or a record with no stored event behind it is reported.

Each `Finding` names the record (topic, partition, offset), the event id and type, and
what is wrong; never a payload value (personal data stays out of reports).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.chain import chain_breaks, event_hash
from runtime.application import ServiceApplication
from runtime.relay import Translator, link

#: What the chains are checked on: an envelope's header. The payload is not kept.
HEADER_FIELDS = (
    "event_id",
    "event_type",
    "producer",
    "aggregate_id",
    "aggregate_version",
    "previous_hash",
)


@dataclass(frozen=True, slots=True)
class TopicRecord:
    """One record as the verifier keeps it: where it was read, its envelope's header
    and the hash of the whole envelope (`events.chain.event_hash`).

    The value itself is dropped once hashed, so that reading a topic of millions of
    events holds a few hundred bytes for each rather than the envelope and its parsed
    form. `header` is None for a record that is not an envelope of the contract;
    `digest` is None when it is not even a JSON object.
    """

    topic: str
    partition: int
    offset: int
    header: dict[str, Any] | None
    digest: str | None

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    @classmethod
    def read(cls, topic: str, partition: int, offset: int, value: bytes) -> TopicRecord:
        try:
            envelope = json.loads(value)
        except ValueError:
            return cls(topic, partition, offset, None, None)
        if not isinstance(envelope, dict):
            return cls(topic, partition, offset, None, None)
        try:
            digest: str | None = event_hash(envelope)
        except (TypeError, ValueError):
            digest = None
        return cls(topic, partition, offset, header_of(envelope), digest)


def header_of(envelope: dict[str, Any]) -> dict[str, Any] | None:
    """The header the chains are checked on, or None if `envelope` has none."""
    if not all(k in envelope for k in HEADER_FIELDS if k != "previous_hash"):
        return None
    try:
        uuid.UUID(str(envelope["aggregate_id"]))
        int(envelope["aggregate_version"])
    except (ValueError, TypeError):
        return None
    return {k: envelope.get(k) for k in HEADER_FIELDS}


@dataclass(frozen=True)
class Finding:
    """One place where the log does not hold together.

    `kind`: `altered`, `reordered`, `missing_or_altered`, `unexpected_start` (from the
    chain, see `events.chain.ChainBreak`), `unreadable` (a record that is not an
    envelope), `store_altered` (a stored event no longer gives the record published
    from it), `missing_from_store` (a record with no stored event behind it),
    `missing_from_topic` (a stored event the relay published that is not on the topic).
    """

    kind: str
    where: str
    event_id: str | None
    event_type: str | None
    aggregate_id: str | None
    detail: str


async def read_topics(
    bootstrap: str, topics: Sequence[str], *, console: Console | None = None
) -> list[TopicRecord]:
    """Every record of `topics`, in partition order, up to the end offsets when called
    (with a progress bar on `console`, standard error by default)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="jip-verify")
    await admin.start()
    try:
        # Partition ids come from the admin client: a group-less consumer's own metadata
        # does not know a topic it has not been assigned (`topics()` returns a copy).
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = sorted(
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    )
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        client_id="jip-verify",
        max_poll_records=2000,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        begin = await consumer.beginning_offsets(partitions)
        # Explicit seeks: seek_to_beginning() is lazy, and position() would then resolve
        # it with the consumer's auto_offset_reset ("latest") and read nothing.
        for tp, offset in begin.items():
            consumer.seek(tp, offset)
        records: list[TopicRecord] = []
        with Progress(
            TextColumn("[bold]reading the log"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("read", total=sum(end[p] - begin[p] for p in partitions))
            for tp in partitions:
                while await consumer.position(tp) < end[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=1000)
                    for r in batch.get(tp, []):
                        if r.offset < end[tp]:
                            records.append(
                                TopicRecord.read(r.topic, r.partition, r.offset, r.value or b"")
                            )
                    progress.update(task, completed=len(records))
        return records
    finally:
        await consumer.stop()


def _finding(kind: str, where: str, envelope: dict[str, Any] | None, detail: str) -> Finding:
    e = envelope or {}
    return Finding(
        kind=kind,
        where=where,
        event_id=str(e["event_id"]) if "event_id" in e else None,
        event_type=str(e["event_type"]) if "event_type" in e else None,
        aggregate_id=str(e["aggregate_id"]) if "aggregate_id" in e else None,
        detail=detail,
    )


def verify_envelopes(located: Iterable[tuple[str, dict[str, Any], str]]) -> list[Finding]:
    """Check the chains of envelopes given as (where each was read, its header, its
    hash), in the order read (one aggregate's records are in one partition, so in their
    published order)."""
    chains: dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]] = defaultdict(list)
    for where, header, digest in located:
        chains[(str(header["producer"]), str(header["aggregate_id"]))].append(
            (where, header, digest)
        )
    findings = []
    for chain in chains.values():
        for brk in chain_breaks([h for _, h, _ in chain], [d for _, _, d in chain]):
            where, header, _ = chain[brk.position]
            findings.append(_finding(brk.kind, where, header, brk.detail))
    return findings


def verify_records(records: Sequence[TopicRecord]) -> list[Finding]:
    """Check every record: each an envelope, each aggregate's events chained."""
    findings = []
    located = []
    for record in records:
        if record.header is None or record.digest is None:
            findings.append(
                _finding("unreadable", record.position, None, "not an envelope of the contract")
            )
        else:
            located.append((record.position, record.header, record.digest))
    return findings + verify_envelopes(located)


def verify_store(
    app: ServiceApplication,
    translate: Translator,
    topic: str,
    records: Sequence[TopicRecord],
    *,
    page: int = 1000,
) -> list[Finding]:
    """A publishing service's own check of its store against its topic (blocking)."""
    published: dict[tuple[str, int], tuple[TopicRecord, dict[str, Any], str]] = {}
    for record in records:
        envelope = record.header
        if envelope is None or record.digest is None or record.topic != topic:
            continue
        key = (str(envelope["aggregate_id"]), int(envelope["aggregate_version"]))
        published.setdefault(key, (record, envelope, record.digest))
    relayed_up_to = app.recorder.max_tracking_id(f"relay:{topic}") or 0
    findings: list[Finding] = []
    last_hash: dict[uuid.UUID, str] = {}
    seen: set[tuple[str, int]] = set()
    start = 0
    while start < relayed_up_to:
        notifications = app.recorder.select_notifications(
            start=start, limit=page, stop=relayed_up_to, inclusive_of_start=False
        )
        if not notifications:
            break
        for notification in notifications:
            domain_event = app.mapper.to_domain_event(notification)
            public = translate(domain_event)
            if public is None:
                continue
            key = (str(public.aggregate_id), public.aggregate_version)
            seen.add(key)
            found = published.get(key)
            # Chained to what the published record names as its predecessor: a stored
            # event altered is then the only one that differs, not every one after it
            # (the topic's own chain says whether that predecessor is the right one).
            previous = (
                found[1].get("previous_hash") if found else last_hash.get(public.aggregate_id)
            )
            chained, digest = link(public, previous)
            last_hash[public.aggregate_id] = digest
            stored = chained.model_dump(mode="json")
            if found is None:
                findings.append(
                    _finding(
                        "missing_from_topic",
                        f"{topic} (stored at notification {notification.id})",
                        stored,
                        "stored and relayed, but not on the topic",
                    )
                )
            elif found[2] != digest:
                record, published_envelope, _ = found
                findings.append(
                    _finding(
                        "store_altered",
                        record.position,
                        published_envelope,
                        f"the stored event (notification {notification.id}) no longer gives "
                        "the record published from it: it was changed after publication",
                    )
                )
        start = notifications[-1].id
    for key, (record, published_envelope, _) in published.items():
        if key not in seen:
            findings.append(
                _finding(
                    "missing_from_store",
                    record.position,
                    published_envelope,
                    "on the topic, but no stored event of the service is behind it",
                )
            )
    return findings


def print_findings(findings: Sequence[Finding], *, checked: str, as_json: bool) -> int:
    """Print the findings (a table, or JSON); the exit code: 0 when none, 1 otherwise."""
    if as_json:
        print(json.dumps({"checked": checked, "findings": [asdict(f) for f in findings]}, indent=2))
        return 1 if findings else 0
    console = Console()
    if not findings:
        console.print(f"[green]✓[/] {checked}: every chain holds, nothing missing or altered")
        return 0
    table = Table(title=f"{len(findings)} findings in {checked}")
    for column in ("kind", "where", "event", "type", "aggregate", "detail"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(
            f.kind, f.where, f.event_id or "", f.event_type or "", f.aggregate_id or "", f.detail
        )
    console.print(table)
    return 1


def store_verifier(
    kafka_bootstrap: Callable[[], str],
    open_application: Callable[[], ServiceApplication],
    translate: Translator,
    topic: str,
) -> Callable[[bool], int]:
    """A publishing service's `verify` command: its topic's chains, and its store
    against its topic."""

    def run(as_json: bool) -> int:
        records = asyncio.run(read_topics(kafka_bootstrap(), [topic]))
        app = open_application()
        try:
            findings = verify_records(records) + verify_store(app, translate, topic, records)
        finally:
            app.close()
        return print_findings(
            findings, checked=f"{topic} ({len(records)} records) and the store", as_json=as_json
        )

    return run
