"""Revoked tokens: a small store of its own, which every service reads.

Why a store and not events: a revocation must reach every service within seconds and
must not depend on the consumers being up to date (a quarantined record on a topic
would leave a stolen token working). Why not a query per request: the store would sit
on the path of every request of every service. So the office's admin command writes
to a PostgreSQL database of its own (`jip_identity`; in production its own role, which
the admin command may write and the services may only read), and each service keeps the
list of currently revoked token ids in memory, reloaded in the background when it is
older than `refresh_every` (2 s by default).

Per request this costs one lookup in an in-memory set (well under a microsecond). The
reload (one connection and one `SELECT` of the ids still worth remembering, a few ms) runs
beside the requests, at most once per `refresh_every`; a request waits for it only when
the list is older than `stale_after` (nothing loaded yet, or the store unreachable for a
while): then it is refused rather than let through unchecked (fail closed).

Only revocations of tokens that may still be valid are read: a token outlives neither its
`exp` nor the longest lifetime the trust document accepts, so old rows cost nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS issued_tokens (
    jti text PRIMARY KEY,
    kind text NOT NULL,
    subject text NOT NULL,
    role text,
    company_id uuid,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti text PRIMARY KEY,
    revoked_at timestamptz NOT NULL,
    remember_until timestamptz NOT NULL,
    reason text NOT NULL
);
"""


class RevocationUnavailable(Exception):
    """The revocation list could not be read for too long: tokens cannot be checked."""


class RevocationStore:
    """The admin command's side: record issued tokens, revoke them. Synchronous."""

    def __init__(self, dsn: str, longest_lifetime: timedelta) -> None:
        self.dsn = dsn
        self.longest_lifetime = longest_lifetime

    def create(self) -> None:
        with psycopg.connect(self.dsn) as conn:
            # Concurrent first starts would race on CREATE TABLE IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(7207)")
            conn.execute(SCHEMA)

    def record_issued(
        self,
        jti: str,
        kind: str,
        subject: str,
        role: str | None,
        company_id: str | None,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        with psycopg.connect(self.dsn) as conn:
            conn.execute(
                "INSERT INTO issued_tokens VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (jti, kind, subject, role, company_id, issued_at, expires_at),
            )

    def revoke(self, jti: str, reason: str, *, now: datetime | None = None) -> bool:
        """Revoke a token by its id; False if it was already revoked. The id need not be
        of a token issued here (registration's applicant tokens are revoked the same way)."""
        now = now or datetime.now(UTC)
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(
                "SELECT expires_at FROM issued_tokens WHERE jti = %s", (jti,)
            ).fetchone()
            remember_until = row[0] if row else now + self.longest_lifetime
            inserted = conn.execute(
                "INSERT INTO revoked_tokens VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (jti, now, remember_until, reason),
            )
            return inserted.rowcount == 1

    def tokens_of(self, subject: str) -> list[dict[str, Any]]:
        """The tokens issued to someone that are still valid, to revoke them all."""
        with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT jti, kind, role, company_id, expires_at FROM issued_tokens "
                "WHERE subject = %s AND expires_at > now() "
                "AND jti NOT IN (SELECT jti FROM revoked_tokens) ORDER BY issued_at",
                (subject,),
            )
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


class RevocationList:
    """A service's side: the ids of revoked tokens, in memory, kept fresh."""

    def __init__(
        self,
        dsn: str | None,
        *,
        refresh_every: float = 2.0,
        stale_after: float = 60.0,
    ) -> None:
        self.dsn = dsn
        self.refresh_every = refresh_every
        self.stale_after = stale_after
        self._revoked: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._reload: asyncio.Task[None] | None = None

    async def is_revoked(self, jti: str) -> bool:
        if self.dsn is None:
            return False
        age = None if self._loaded_at is None else time.monotonic() - self._loaded_at
        if age is None or age > self.stale_after:
            await self._reloaded()
            if self._loaded_at is None or time.monotonic() - self._loaded_at > self.stale_after:
                raise RevocationUnavailable()
        elif age > self.refresh_every and (self._reload is None or self._reload.done()):
            self._reload = asyncio.create_task(self._load())
        return jti in self._revoked

    async def _reloaded(self) -> None:
        if self._reload is None or self._reload.done():
            self._reload = asyncio.create_task(self._load())
        await asyncio.shield(self._reload)

    async def _load(self) -> None:
        assert self.dsn is not None
        try:
            conn = await asyncpg.connect(self.dsn, timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return  # the list grows stale; stale_after decides when requests are refused
        try:
            rows = await conn.fetch(
                "SELECT jti FROM revoked_tokens WHERE remember_until > now() - interval '1 minute'"
            )
            revoked = frozenset(r["jti"] for r in rows)
        except asyncpg.UndefinedTableError:
            revoked = frozenset()  # nothing was ever revoked: the admin command creates it
        except (OSError, asyncpg.PostgresError):
            return
        finally:
            await conn.close()
        self._revoked = revoked
        self._loaded_at = time.monotonic()
