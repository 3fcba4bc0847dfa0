"""The applicant's status page, as a read model in PostgreSQL built from the event log.

The projector follows registration's log like any follower; each row keeps the version
of the last event applied, so replaying an event (at-least-once) changes nothing, and
the whole view can be dropped and rebuilt from the log at any time.

Personal values (the documents' file names) are kept in the table as the log has them,
sealed, and opened when the page is read (`StatusView.get`): an erased applicant's
rebuilt page shows `[erased]`, and the table itself never holds them in clear.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from runtime.privacy import PersonalData
from runtime.read_model import POSITIONS_SCHEMA, FoldedTable, FoldingProjector
from services.registration.domain.applicant import Applicant
from services.registration.domain.documents import required_documents

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS applicant_status (
    applicant_id uuid PRIMARY KEY,
    cohort_id text NOT NULL,
    stage text NOT NULL,
    outstanding_documents jsonb NOT NULL DEFAULT '[]',
    submitted_documents jsonb NOT NULL DEFAULT '[]',
    amendments integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL
);
"""
    + POSITIONS_SCHEMA
)

PROJECTOR_NAME = "projector:applicant_status"


#: The domain events the status page shows; the projector reads only these.
SHOWN = (
    Applicant.Preregistered,
    Applicant.Registered,
    Applicant.DocumentsSubmitted,
    Applicant.DetailsAmended,
    Applicant.Erased,
)

#: Writes a folded row; the version guard keeps an older event (a replay) from
#: overwriting a newer state.
UPSERT = """
INSERT INTO applicant_status AS s (applicant_id, cohort_id, stage, outstanding_documents,
    submitted_documents, amendments, updated_at, version)
VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)
ON CONFLICT (applicant_id) DO UPDATE SET stage = EXCLUDED.stage,
    outstanding_documents = EXCLUDED.outstanding_documents,
    submitted_documents = EXCLUDED.submitted_documents, amendments = EXCLUDED.amendments,
    updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
WHERE s.version < EXCLUDED.version
"""


@dataclass(frozen=True)
class StatusRow:
    """One applicant's line of the status page."""

    applicant_id: uuid.UUID
    cohort_id: str
    stage: str
    outstanding_documents: list[str]
    submitted_documents: list[dict[str, Any]]
    amendments: int
    updated_at: datetime
    version: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> StatusRow:
        return cls(
            applicant_id=r["applicant_id"],
            cohort_id=r["cohort_id"],
            stage=r["stage"],
            outstanding_documents=json.loads(r["outstanding_documents"]),
            submitted_documents=json.loads(r["submitted_documents"]),
            amendments=r["amendments"],
            updated_at=r["updated_at"],
            version=r["version"],
        )

    def as_args(self) -> tuple[Any, ...]:
        return (
            self.applicant_id,
            self.cohort_id,
            self.stage,
            json.dumps(self.outstanding_documents),
            json.dumps(self.submitted_documents),
            self.amendments,
            self.updated_at,
            self.version,
        )


def fold(row: StatusRow | None, e: Any) -> StatusRow | None:
    """The row after one event. Applying an event the row already reflects (its version
    is not newer) returns the row unchanged, so replaying the log changes nothing."""
    if isinstance(e, Applicant.Preregistered):
        if row is not None:
            return row
        return StatusRow(
            applicant_id=e.originator_id,
            cohort_id=e.cohort_id,
            stage="preregistered",
            outstanding_documents=[],
            submitted_documents=[],
            amendments=0,
            updated_at=e.timestamp,
            version=e.originator_version,
        )
    if row is None or row.version >= e.originator_version:
        return row
    moved = {"updated_at": e.timestamp, "version": e.originator_version}
    if isinstance(e, Applicant.Registered):
        outstanding = list(required_documents(e.details["education"]["status"]))
        return replace(row, stage="registered", outstanding_documents=outstanding, **moved)
    if isinstance(e, Applicant.DocumentsSubmitted):
        submitted = [
            {
                "kind": d["kind"],
                "filename": d["filename"],
                "sha256": d["sha256"],
                "submitted_at": e.submitted_at.isoformat(),
            }
            for d in e.documents
        ]
        return replace(
            row,
            stage="registered" if e.outstanding else "documents_complete",
            outstanding_documents=list(e.outstanding),
            submitted_documents=row.submitted_documents + submitted,
            **moved,
        )
    if isinstance(e, Applicant.DetailsAmended):
        return replace(row, amendments=row.amendments + 1, **moved)
    if isinstance(e, Applicant.Erased):
        return replace(row, stage="erased", outstanding_documents=[], **moved)
    return row


class StatusView(FoldedTable[StatusRow]):
    """Reads and writes the `applicant_status` table through an asyncpg pool."""

    name = PROJECTOR_NAME
    table = "applicant_status"
    key_column = "applicant_id"
    upsert = UPSERT

    def __init__(self, pool: asyncpg.Pool, personal_data: PersonalData) -> None:
        super().__init__(pool)
        self.personal = personal_data

    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Any]:
        return [e for e, _ in batch if isinstance(e, SHOWN)]

    def key_of(self, item: Any) -> uuid.UUID:
        key: uuid.UUID = item.originator_id
        return key

    def row_of(self, record: asyncpg.Record) -> StatusRow:
        return StatusRow.from_record(record)

    def fold(self, row: StatusRow | None, item: Any) -> StatusRow | None:
        return fold(row, item)

    def args_of(self, row: StatusRow) -> tuple[Any, ...]:
        return row.as_args()

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def get(self, applicant_id: uuid.UUID) -> dict[str, Any] | None:
        """The applicant's row, its personal values opened (or `[erased]`)."""
        row = await self.get_sealed(applicant_id)
        return None if row is None else await asyncio.to_thread(self.personal.reveal, row)

    async def get_sealed(self, applicant_id: uuid.UUID) -> dict[str, Any] | None:
        """The row as the table holds it."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM applicant_status WHERE applicant_id = $1", applicant_id
            )
        if row is None:
            return None
        data = dict(row)
        data["outstanding_documents"] = json.loads(data["outstanding_documents"])
        data["submitted_documents"] = json.loads(data["submitted_documents"])
        return data


class StatusProjector(FoldingProjector):
    """Keeps the status page in step with the log (and rebuilds it after `clear`)."""

    event_types = SHOWN
