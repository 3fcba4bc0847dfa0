"""A key store in memory, for handler unit tests only: the same `PersonalData` the
services use (real AES-GCM sealing), over keys kept in a dict instead of the key store's
database. Integration tests use the real key store (`tests.support.personal_data`)."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.keystore import SubjectErased
from runtime.privacy import PersonalData


class InMemoryKeyStore:
    """What `runtime.keystore.KeyStore` does (keys by subject, tombstones), in a dict."""

    def __init__(self) -> None:
        self.keys: dict[uuid.UUID, bytes] = {}
        self.erased: set[uuid.UUID] = set()

    def key_of(self, subject_id: uuid.UUID) -> bytes | None:
        return self.keys.get(subject_id)

    def key_for_sealing(self, subject_id: uuid.UUID) -> bytes:
        if subject_id in self.erased:
            raise SubjectErased(subject_id)
        return self.keys.setdefault(subject_id, AESGCM.generate_key(bit_length=256))

    def erase(self, subject_id: uuid.UUID) -> bool:
        self.erased.add(subject_id)
        return self.keys.pop(subject_id, None) is not None

    def is_erased(self, subject_id: uuid.UUID) -> bool:
        return subject_id in self.erased

    def close(self) -> None:
        pass


def in_memory_personal_data() -> PersonalData:
    return PersonalData(InMemoryKeyStore())  # type: ignore[arg-type]
