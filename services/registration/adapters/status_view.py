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

from runtime.follower import LogFollower
from runtime.privacy import PersonalData
from services.registration.application.service import RegistrationApplication
from services.registration.domain.applicant import Applicant
from services.registration.domain.documents import required_documents

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS read_model_position (
    name text PRIMARY KEY,
    notification_id bigint NOT NULL
);
"""

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


class StatusView:
    """Reads and writes the `applicant_status` table through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, personal_data: PersonalData) -> None:
        self.pool = pool
        self.personal = personal_data

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

    async def position(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT notification_id FROM read_model_position WHERE name = $1", PROJECTOR_NAME
            )
        return int(value or 0)

    async def apply_batch(self, batch: Sequence[tuple[Any, int]], *, after: int) -> bool:
        """Apply events read after position `after` and record the new position in one
        transaction: the view is exactly as far as its recorded position says. Nothing
        is applied (False) if the position is no longer `after`: the view was cleared
        for a rebuild, or the rebuild command applied this batch, meanwhile.

        The rows the batch touches are read once, the events folded into them in
        memory, and the changed rows written in one pipelined statement: a rebuild
        costs a few round trips per batch instead of one per event."""
        events = [e for e, _ in batch if isinstance(e, SHOWN)]
        async with self.pool.acquire() as conn, conn.transaction():
            # The row lock orders this batch with `clear` and with another projector.
            position = await conn.fetchval(
                "SELECT notification_id FROM read_model_position WHERE name = $1 FOR UPDATE",
                PROJECTOR_NAME,
            )
            if int(position or 0) != after:
                return False
            if events:
                ids = list({e.originator_id for e in events})
                found = await conn.fetch(
                    "SELECT * FROM applicant_status WHERE applicant_id = ANY($1::uuid[])", ids
                )
                rows: dict[uuid.UUID, StatusRow] = {
                    r["applicant_id"]: StatusRow.from_record(r) for r in found
                }
                changed: dict[uuid.UUID, StatusRow] = {}
                for e in events:
                    row = fold(rows.get(e.originator_id), e)
                    if row is not None and row is not rows.get(e.originator_id):
                        rows[e.originator_id] = changed[e.originator_id] = row
                if changed:
                    await conn.executemany(UPSERT, [r.as_args() for r in changed.values()])
            await conn.execute(
                "INSERT INTO read_model_position VALUES ($1, $2) ON CONFLICT (name)"
                " DO UPDATE SET notification_id = EXCLUDED.notification_id",
                PROJECTOR_NAME,
                batch[-1][1],
            )
        return True

    async def clear(self) -> None:
        """Forget the view and its position: the projector then rebuilds it from the log."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("TRUNCATE applicant_status")
            await conn.execute("DELETE FROM read_model_position WHERE name = $1", PROJECTOR_NAME)


class StatusProjector(LogFollower):
    """Keeps the status page in step with the log (and rebuilds it after `clear`)."""

    event_types = SHOWN

    def __init__(self, app: RegistrationApplication, view: StatusView, **kwargs: Any) -> None:
        super().__init__(app, name=PROJECTOR_NAME, **kwargs)
        self.view = view
        self.loaded_position = 0

    async def load_position(self) -> int:
        self.loaded_position = await self.view.position()
        return self.loaded_position

    async def save_position(self, notification_id: int) -> None:
        """Already saved by `handle`, in the view's own transaction."""

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        # The service's projector and the rebuild command may both be running: each
        # batch is applied only if the view is still where this one read it.
        await self.view.apply_batch(batch, after=self.loaded_position)
