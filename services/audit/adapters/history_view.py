"""The audit's history table: every event it received, indexed by whom it is about.

A read model in the audit's own PostgreSQL database, folded from its own log (one
`ReceivedEvent` per event id, and its later copies). Each row keeps the version of the
last event applied, so replaying changes nothing, and the table can be dropped and
rebuilt from the log at any time (`python -m services.audit rebuild-read-models`).

It holds the envelopes as published: personal values stay sealed (the history shows
them as `[personal data]`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import asyncpg

from runtime.application import ServiceApplication
from runtime.read_model import POSITIONS_SCHEMA, FoldedTable, FoldingProjector
from services.audit.domain.history import as_uuid, subjects_of
from services.audit.domain.received import ReceivedEvent

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS audit_history (
    event_id uuid PRIMARY KEY,
    event_type text NOT NULL,
    producer text NOT NULL,
    occurred_at timestamptz NOT NULL,
    position text NOT NULL,
    applicants uuid[] NOT NULL,
    companies uuid[] NOT NULL,
    cohorts text[] NOT NULL,
    round_id uuid,
    envelope jsonb NOT NULL,
    event_hash text NOT NULL,
    conflicting jsonb NOT NULL,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_history_by_applicant ON audit_history USING gin (applicants);
CREATE INDEX IF NOT EXISTS audit_history_by_company ON audit_history USING gin (companies);
CREATE INDEX IF NOT EXISTS audit_history_by_cohort ON audit_history USING gin (cohorts);
CREATE INDEX IF NOT EXISTS audit_history_by_round ON audit_history (round_id)
    WHERE round_id IS NOT NULL;
"""
    + POSITIONS_SCHEMA
)

PROJECTOR_NAME = "projector:audit_history"
COLUMNS: Final = (
    "event_id",
    "event_type",
    "producer",
    "occurred_at",
    "position",
    "applicants",
    "companies",
    "cohorts",
    "round_id",
    "envelope",
    "event_hash",
    "conflicting",
    "version",
)
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
_PLACES = ", ".join(
    f"${i}::jsonb" if c in ("envelope", "conflicting") else f"${i}"
    for i, c in enumerate(COLUMNS, start=1)
)
UPSERT = (
    f"INSERT INTO audit_history AS h ({', '.join(COLUMNS)}) VALUES ({_PLACES}) "  # noqa: S608
    f"ON CONFLICT (event_id) DO UPDATE SET {_UPDATES} WHERE h.version < EXCLUDED.version"
)


@dataclass(frozen=True)
class HistoryRow:
    """One event as received: the envelope, where it was read, whom it is about, and the
    copies of its id whose content differs (position and hash)."""

    event_id: uuid.UUID
    event_type: str
    producer: str
    occurred_at: datetime
    position: str
    applicants: list[uuid.UUID]
    companies: list[uuid.UUID]
    cohorts: list[str]
    round_id: uuid.UUID | None
    envelope: dict[str, Any]
    event_hash: str
    conflicting: list[dict[str, str]]
    version: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> HistoryRow:
        values = {c: r[c] for c in COLUMNS}
        values["envelope"] = json.loads(values["envelope"])
        values["conflicting"] = json.loads(values["conflicting"])
        values["applicants"] = list(values["applicants"])
        values["companies"] = list(values["companies"])
        values["cohorts"] = list(values["cohorts"])
        return cls(**values)

    def as_args(self) -> tuple[Any, ...]:
        values = {c: getattr(self, c) for c in COLUMNS}
        values["envelope"] = json.dumps(self.envelope)
        values["conflicting"] = json.dumps(self.conflicting)
        return tuple(values[c] for c in COLUMNS)


def fold(row: HistoryRow | None, e: Any) -> HistoryRow | None:
    if row is not None and row.version >= e.originator_version:
        return row
    if isinstance(e, ReceivedEvent.Received):
        envelope = e.envelope
        subjects = subjects_of(envelope)
        payload = envelope.get("payload") or {}
        round_id = payload.get("round_id") if isinstance(payload, dict) else None
        return HistoryRow(
            event_id=e.originator_id,
            event_type=str(envelope.get("event_type")),
            producer=str(envelope.get("producer")),
            occurred_at=datetime.fromisoformat(str(envelope["occurred_at"]).replace("Z", "+00:00")),
            position=f"{e.topic}:{e.partition}:{e.offset}",
            applicants=sorted(subjects.applicants),
            companies=sorted(subjects.companies),
            cohorts=sorted(subjects.cohorts),
            # Not a round id (a record that breaks the contract): no round.
            round_id=as_uuid(round_id),
            envelope=envelope,
            event_hash=e.event_hash,
            conflicting=[],
            version=e.originator_version,
        )
    if row is None:
        return None
    if isinstance(e, ReceivedEvent.ReceivedAgain) and e.envelope is not None:
        copy = {"position": f"{e.topic}:{e.partition}:{e.offset}", "event_hash": e.event_hash}
        return replace(row, conflicting=[*row.conflicting, copy], version=e.originator_version)
    return replace(row, version=e.originator_version)


class HistoryView(FoldedTable[HistoryRow]):
    """Reads and writes the `audit_history` table through an asyncpg pool."""

    name = PROJECTOR_NAME
    table = "audit_history"
    key_column = "event_id"
    upsert = UPSERT

    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Any]:
        return [
            e
            for e, _ in batch
            if isinstance(e, ReceivedEvent.Received | ReceivedEvent.ReceivedAgain)
        ]

    def key_of(self, item: Any) -> uuid.UUID:
        return uuid.UUID(str(item.originator_id))

    def row_of(self, record: asyncpg.Record) -> HistoryRow:
        return HistoryRow.from_record(record)

    def fold(self, row: HistoryRow | None, item: Any) -> HistoryRow | None:
        return fold(row, item)

    def args_of(self, row: HistoryRow) -> tuple[Any, ...]:
        return row.as_args()

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def _rows(self, where: str, *args: Any) -> list[HistoryRow]:
        async with self.pool.acquire() as conn:
            found = await conn.fetch(
                f"SELECT * FROM audit_history WHERE {where} "  # noqa: S608 - our own clauses
                "ORDER BY occurred_at, position",
                *args,
            )
        return [HistoryRow.from_record(r) for r in found]

    async def about_applicant(self, applicant_id: uuid.UUID) -> list[HistoryRow]:
        return await self._rows("applicants @> ARRAY[$1::uuid]", applicant_id)

    async def about_company(self, company_id: uuid.UUID) -> list[HistoryRow]:
        return await self._rows("companies @> ARRAY[$1::uuid]", company_id)

    async def of_cohort(self, cohort_id: str, producers: Sequence[str]) -> list[HistoryRow]:
        return await self._rows(
            "cohorts @> ARRAY[$1::text] AND producer = ANY($2::text[])", cohort_id, list(producers)
        )

    async def event(self, event_id: uuid.UUID) -> HistoryRow | None:
        rows = await self._rows("event_id = $1", event_id)
        return rows[0] if rows else None

    async def round(self, round_id: uuid.UUID) -> HistoryRow | None:
        rows = await self._rows("round_id = $1 AND event_type = 'MatchingRoundCompleted'", round_id)
        return rows[0] if rows else None

    async def all_rows(self) -> list[HistoryRow]:
        return await self._rows("true")


class HistoryProjector(FoldingProjector):
    """Keeps the history table in step with the audit's log (and rebuilds it)."""

    event_types = (ReceivedEvent.Received, ReceivedEvent.ReceivedAgain)

    def __init__(self, app: ServiceApplication, view: HistoryView, **kwargs: Any) -> None:
        super().__init__(app, view, **kwargs)
