"""The key store: one AES-256 key per data subject, outside every event log.

It is its own PostgreSQL database with its own role and password (created by `infra`;
in production an operator gives each service its credentials), so that the services'
event stores, their backups and Kafka never hold a key. Each key is stored wrapped
(AES-256-GCM) with a master key that is not in the database either: a dump of the key
store alone opens nothing.

Erasing a subject deletes its key and leaves a tombstone, so that no new key is ever
made for an erased subject (whatever is sealed for them afterwards would otherwise be
readable again), and vacuums the table so that the deleted row leaves its pages at
once. What remains is PostgreSQL's write-ahead log and the key store's backups: keep
their retention short (the README says so), they are the only copies of an erased key.

Keys are not cached in memory: an erasure takes effect at once in every running
process, at the cost of one indexed lookup per opening (callers that open many values of
one subject, like an export, open them in one `PersonalData.reveal`, one lookup each
subject).
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg_pool import ConnectionPool

SCHEMA = """
-- Several services may start at once on a new key store: one creates the tables.
SELECT pg_advisory_xact_lock(hashtext('jip-keystore-schema'));
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id uuid PRIMARY KEY,
    wrapped_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS erased_subjects (
    subject_id uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);
"""


class SubjectErased(Exception):
    """The subject was erased: nothing personal may be sealed for them any more."""

    def __init__(self, subject_id: uuid.UUID) -> None:
        super().__init__(f"data subject {subject_id} was erased")
        self.subject_id = subject_id


def master_key_from_text(text: str) -> bytes:
    key = base64.b64decode(text, validate=True)
    if len(key) != 32:
        raise ValueError("the key store's master key must be 32 bytes, base64-encoded")
    return key


class KeyStore:
    """The one small client every service reaches the key store through."""

    def __init__(self, dsn: str, master_key: bytes, *, max_connections: int = 4) -> None:
        self._wrap = AESGCM(master_key)
        # Opened on first use: importing or building a service does no I/O, and a
        # service that never opens personal data never connects.
        self._pool = ConnectionPool(
            dsn, min_size=0, max_size=max_connections, open=False, name="keystore"
        )
        self._ready = False
        self._opening = threading.Lock()

    def _connection(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        if not self._ready:
            # Once per process, by one thread (and across processes, under the lock in
            # SCHEMA): two concurrent `CREATE TABLE IF NOT EXISTS` can both miss the
            # table, and one then fails on PostgreSQL's catalog.
            with self._opening:
                if not self._ready:
                    self._pool.open(wait=False)
                    with self._pool.connection() as conn:
                        conn.execute(SCHEMA)
                    self._ready = True
        return self._pool.connection()

    def close(self) -> None:
        self._pool.close()

    # -- keys --------------------------------------------------------------------------
    def key_of(self, subject_id: uuid.UUID) -> bytes | None:
        """The subject's key, or None when it has none (erased, or never sealed for)."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT wrapped_key FROM subject_keys WHERE subject_id = %s", (subject_id,)
            ).fetchone()
        return None if row is None else self._unwrap(subject_id, bytes(row[0]))

    def key_for_sealing(self, subject_id: uuid.UUID) -> bytes:
        """The subject's key, made now if they have none; `SubjectErased` if erased."""
        key = self.key_of(subject_id)
        if key is not None:
            return key
        candidate = AESGCM.generate_key(bit_length=256)
        with self._connection() as conn, conn.transaction():
            # The tombstone check and the insert in one statement: an erasure that
            # commits first wins, and a concurrent first sealing keeps one key.
            conn.execute(
                "INSERT INTO subject_keys (subject_id, wrapped_key) "
                "SELECT %s, %s WHERE NOT EXISTS "
                "(SELECT 1 FROM erased_subjects WHERE subject_id = %s) "
                "ON CONFLICT (subject_id) DO NOTHING",
                (subject_id, self._wrapped(subject_id, candidate), subject_id),
            )
        key = self.key_of(subject_id)
        if key is None:
            raise SubjectErased(subject_id)
        return key

    def erase(self, subject_id: uuid.UUID) -> bool:
        """Destroys the subject's key (True if there was one) and leaves a tombstone."""
        with self._connection() as conn:
            with conn.transaction():
                deleted = conn.execute(
                    "DELETE FROM subject_keys WHERE subject_id = %s", (subject_id,)
                ).rowcount
                conn.execute(
                    "INSERT INTO erased_subjects (subject_id) VALUES (%s) "
                    "ON CONFLICT (subject_id) DO NOTHING",
                    (subject_id,),
                )
            # VACUUM cannot run inside a transaction; the pool's connections are not
            # in autocommit mode, so switch this one for the statement.
            conn.autocommit = True
            try:
                conn.execute("VACUUM subject_keys")
            finally:
                conn.autocommit = False
        return deleted > 0

    def is_erased(self, subject_id: uuid.UUID) -> bool:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM erased_subjects WHERE subject_id = %s", (subject_id,)
            ).fetchone()
        return row is not None

    # -- wrapping ----------------------------------------------------------------------
    def _wrapped(self, subject_id: uuid.UUID, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._wrap.encrypt(nonce, key, _wrap_aad(subject_id))

    def _unwrap(self, subject_id: uuid.UUID, wrapped: bytes) -> bytes:
        return self._wrap.decrypt(wrapped[:12], wrapped[12:], _wrap_aad(subject_id))


def _wrap_aad(subject_id: uuid.UUID) -> bytes:
    return b"jip-keystore-v1:" + subject_id.bytes
