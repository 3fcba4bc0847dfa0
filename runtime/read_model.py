"""Read models kept as a PostgreSQL table of rows folded from a service's own log.

A `FoldedTable` knows its rows (how to read one, fold an event into it, write it); the
machinery around them is here, the same for every read model:

- its position (the last notification applied) is kept in `read_model_position`, in
  the same transaction as the rows: the table is exactly as far as its position says;
- a batch is applied only if the position is still where the projector read it, so the
  service's projector and the rebuild command (or a standby instance) never apply a
  batch twice;
- the rows a batch touches are read once, the events folded into them in memory and
  the changed rows written in one pipelined statement: a rebuild costs a few round
  trips per batch, not one per event;
- `clear` forgets the rows and the position: the projector then rebuilds the table
  from the log.

`FoldingProjector` is the log follower that keeps such a table.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg

from runtime.application import ServiceApplication
from runtime.follower import LogFollower
from runtime.settings import ServiceSettings

#: The table of every read model's position, by read model; each schema creates it.
POSITIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS read_model_position (
    name text PRIMARY KEY,
    notification_id bigint NOT NULL
);
"""

Row = TypeVar("Row")


async def read_model_pool(settings: ServiceSettings) -> asyncpg.Pool:
    """A small asyncpg pool on the service's own database, for its read models (the
    event store has its own connections)."""
    return await asyncpg.create_pool(
        host=settings.pg_host,
        port=settings.pg_port,
        database=settings.pg_database,
        user=settings.pg_user,
        password=settings.pg_password.get_secret_value(),
        min_size=1,
        max_size=5,
    )


class FoldedTable(ABC, Generic[Row]):
    """One read model's table, through an asyncpg pool."""

    #: The read model's name: its position's key, and its projector's name.
    name: ClassVar[str]
    #: The table, and its key column (a uuid).
    table: ClassVar[str]
    key_column: ClassVar[str]
    #: Writes one folded row (`args_of`'s values); guarded so that an older row never
    #: overwrites a newer one.
    upsert: ClassVar[str]

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @abstractmethod
    def items(self, batch: Sequence[tuple[Any, int]]) -> list[Any]:
        """What the table folds, from a batch of (stored event, notification id)."""

    @abstractmethod
    def key_of(self, item: Any) -> uuid.UUID:
        """The row an item is folded into."""

    @abstractmethod
    def row_of(self, record: asyncpg.Record) -> Row:
        """A row as read from the table."""

    @abstractmethod
    def fold(self, row: Row | None, item: Any) -> Row | None:
        """The row after one item; the same object when the item changes nothing."""

    @abstractmethod
    def args_of(self, row: Row) -> tuple[Any, ...]:
        """The row as `upsert`'s arguments."""

    async def position(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT notification_id FROM read_model_position WHERE name = $1", self.name
            )
        return int(value or 0)

    async def apply_batch(self, batch: Sequence[tuple[Any, int]], *, after: int) -> bool:
        """Apply events read after position `after` and record the new position in one
        transaction. Nothing is applied (False) if the position is no longer `after`:
        the table was cleared for a rebuild, or another projector applied this batch,
        meanwhile."""
        items = self.items(batch)
        async with self.pool.acquire() as conn, conn.transaction():
            # The row lock orders this batch with `clear` and with another projector.
            position = await conn.fetchval(
                "SELECT notification_id FROM read_model_position WHERE name = $1 FOR UPDATE",
                self.name,
            )
            if int(position or 0) != after:
                return False
            if items:
                keys = list({self.key_of(i) for i in items})
                found = await conn.fetch(
                    f"SELECT * FROM {self.table} "  # noqa: S608 - names are the class's own
                    f"WHERE {self.key_column} = ANY($1::uuid[])",
                    keys,
                )
                rows: dict[uuid.UUID, Row] = {r[self.key_column]: self.row_of(r) for r in found}
                changed: dict[uuid.UUID, Row] = {}
                for item in items:
                    key = self.key_of(item)
                    row = self.fold(rows.get(key), item)
                    if row is not None and row is not rows.get(key):
                        rows[key] = changed[key] = row
                if changed:
                    await conn.executemany(self.upsert, [self.args_of(r) for r in changed.values()])
            await conn.execute(
                "INSERT INTO read_model_position VALUES ($1, $2) ON CONFLICT (name)"
                " DO UPDATE SET notification_id = EXCLUDED.notification_id",
                self.name,
                batch[-1][1],
            )
        return True

    async def clear(self) -> None:
        """Forget the rows and the position: the projector then rebuilds the table from
        the log."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"TRUNCATE {self.table}")
            await conn.execute("DELETE FROM read_model_position WHERE name = $1", self.name)


class FoldingProjector(LogFollower):
    """Keeps a `FoldedTable` in step with the log (and rebuilds it after `clear`)."""

    def __init__(self, app: ServiceApplication, view: FoldedTable[Any], **kwargs: Any) -> None:
        super().__init__(app, name=view.name, **kwargs)
        self.view = view
        self.loaded_position = 0

    async def load_position(self) -> int:
        self.loaded_position = await self.view.position()
        return self.loaded_position

    async def save_position(self, notification_id: int) -> None:
        """Already saved by `handle`, in the table's own transaction."""

    async def handle(self, batch: Sequence[tuple[Any, int]]) -> None:
        # The service's projector and the rebuild command may both be running: each
        # batch is applied only if the table is still where this one read it.
        await self.view.apply_batch(batch, after=self.loaded_position)
