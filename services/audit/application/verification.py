"""The audit's own check: the log on every topic, and its copy of it.

Its store holds each event as it read it, with the hash it computed then. It is checked
three ways: each kept envelope against its recorded hash (a copy changed in the
audit's database), each against the record now at its position on the topic, and the
chains of the kept envelopes themselves (an event deleted from the audit's store breaks
its aggregate's chain). A record the audit has read past (its consumer position) that it
does not hold, kept nor set aside, is reported as missing from its store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events.chain import event_hash
from runtime.inbox import QuarantinedMessage
from runtime.verify import Finding, TopicRecord, header_of, verify_envelopes
from services.audit.application.service import AuditApplication
from services.audit.domain.received import ReceivedEvent


def verify_audit_store(app: AuditApplication, records: Sequence[TopicRecord]) -> list[Finding]:
    """Blocking: reads the audit's whole store."""
    on_topic = {r.position: r for r in records}
    findings: list[Finding] = []
    # Headers and hashes only: the audit's whole store is read, not held.
    kept: list[tuple[tuple[str, int, int], str, dict[str, Any], str]] = []
    held: set[str] = set()
    for e in app.stored_events_of(ReceivedEvent.Received, ReceivedEvent.ReceivedAgain):
        where = f"{e.topic}:{e.partition}:{e.offset}"
        held.add(where)
        envelope = e.envelope
        if envelope is None:
            continue  # an identical copy: only its position is kept
        digest = event_hash(envelope)
        header = header_of(envelope)
        if isinstance(e, ReceivedEvent.Received) and header is not None:
            kept.append(((e.topic, e.partition, e.offset), where, header, digest))
        record = on_topic.get(where)
        problem = None
        if digest != e.event_hash:
            problem = (
                "the audit's copy no longer has the hash it had when read: it was changed "
                "in the audit's store"
            )
        elif record is not None and record.digest != digest:
            problem = "the audit's copy differs from the record at its position on the topic"
        if problem is not None:
            findings.append(
                Finding(
                    "store_altered",
                    where,
                    str(envelope.get("event_id")),
                    str(envelope.get("event_type")),
                    str(envelope.get("aggregate_id")),
                    problem,
                )
            )
    for m in app.stored_events_of(QuarantinedMessage.Quarantined):
        held.add(f"{m.topic}:{m.partition}:{m.offset}")
    kept.sort(key=lambda k: k[0])
    findings += verify_envelopes((where, header, digest) for _, where, header, digest in kept)
    tracked: dict[tuple[str, int], int] = {}
    for record in records:
        partition = (record.topic, record.partition)
        if partition not in tracked:
            name = f"kafka:{record.topic}:{record.partition}"
            tracked[partition] = app.recorder.max_tracking_id(name) or 0
        if record.offset < tracked[partition] and record.position not in held:
            findings.append(
                Finding(
                    "missing_from_store",
                    record.position,
                    None,
                    None,
                    None,
                    "read by the audit, but neither kept nor set aside in its store",
                )
            )
    return findings
