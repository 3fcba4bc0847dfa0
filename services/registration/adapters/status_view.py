"""The applicant's status page, as a read model in PostgreSQL built from the event log.

The projector follows registration's log like any follower; each row keeps the version
of the last event applied, so replaying an event (at-least-once) changes nothing, and
the whole view can be dropped and rebuilt from the log at any time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from runtime.follower import LogFollower
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


class StatusView:
    """Reads and writes the `applicant_status` table through an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)

    async def get(self, applicant_id: uuid.UUID) -> dict[str, Any] | None:
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
        for a rebuild, or the rebuild command applied this batch, meanwhile."""
        async with self.pool.acquire() as conn, conn.transaction():
            # The row lock orders this batch with `clear` and with another projector.
            position = await conn.fetchval(
                "SELECT notification_id FROM read_model_position WHERE name = $1 FOR UPDATE",
                PROJECTOR_NAME,
            )
            if int(position or 0) != after:
                return False
            for domain_event, _ in batch:
                await self.apply(conn, domain_event)
            await conn.execute(
                "INSERT INTO read_model_position VALUES ($1, $2) ON CONFLICT (name)"
                " DO UPDATE SET notification_id = EXCLUDED.notification_id",
                PROJECTOR_NAME,
                batch[-1][1],
            )
        return True

    @classmethod
    async def apply(cls, conn: asyncpg.Connection, e: Any) -> None:
        """Apply one domain event; events the page does not show are ignored."""
        version, at, applicant_id = e.originator_version, e.timestamp, e.originator_id
        if isinstance(e, Applicant.Preregistered):
            await conn.execute(
                "INSERT INTO applicant_status (applicant_id, cohort_id, stage, updated_at,"
                " version) VALUES ($1, $2, 'preregistered', $3, $4)"
                " ON CONFLICT (applicant_id) DO NOTHING",
                applicant_id,
                e.cohort_id,
                at,
                version,
            )
        elif isinstance(e, Applicant.Registered):
            outstanding = list(required_documents(e.details["education"]["status"]))
            await cls._update(
                conn,
                applicant_id,
                version,
                at,
                "stage = 'registered', outstanding_documents = $4::jsonb",
                json.dumps(outstanding),
            )
        elif isinstance(e, Applicant.DocumentsSubmitted):
            stage = "registered" if e.outstanding else "documents_complete"
            submitted = [
                {
                    "kind": d["kind"],
                    "filename": d["filename"],
                    "sha256": d["sha256"],
                    "submitted_at": e.submitted_at.isoformat(),
                }
                for d in e.documents
            ]
            await cls._update(
                conn,
                applicant_id,
                version,
                at,
                "stage = $4, outstanding_documents = $5::jsonb,"
                " submitted_documents = submitted_documents || $6::jsonb",
                stage,
                json.dumps(e.outstanding),
                json.dumps(submitted),
            )
        elif isinstance(e, Applicant.DetailsAmended):
            await cls._update(conn, applicant_id, version, at, "amendments = amendments + 1")

    @staticmethod
    async def _update(
        conn: asyncpg.Connection,
        applicant_id: uuid.UUID,
        version: int,
        at: datetime,
        assignments: str,
        *args: Any,
    ) -> None:
        """Apply `assignments` (fixed SQL fragments using $4 onwards) unless the row
        already reflects this event or a later one."""
        await conn.execute(
            f"UPDATE applicant_status SET {assignments}, updated_at = $3, version = $2"  # noqa: S608
            " WHERE applicant_id = $1 AND version < $2",
            applicant_id,
            version,
            at,
            *args,
        )

    async def clear(self) -> None:
        """Forget the view and its position: the projector then rebuilds it from the log."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("TRUNCATE applicant_status")
            await conn.execute("DELETE FROM read_model_position WHERE name = $1", PROJECTOR_NAME)


class StatusProjector(LogFollower):
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
