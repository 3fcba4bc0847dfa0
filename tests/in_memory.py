"""Registration and the key store in memory, for unit tests that seal and erase without
PostgreSQL. The key store has the methods `PersonalData` calls on the real one (ours,
so faked here; the real one is tested in tests/integration/test_personal_data.py)."""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.keystore import SubjectErased
from runtime.privacy import PersonalData


class InMemoryKeyStore:
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


def personal_data_in_memory() -> Any:
    return PersonalData(InMemoryKeyStore())  # type: ignore[arg-type]


def registration_in_memory(**kwargs: Any) -> Any:
    """Registration's application on the in-memory event store and key store."""
    from services.registration.application.service import RegistrationApplication
    from services.registration.application.tokens import TokenSigner

    options: dict[str, Any] = {
        "signer": TokenSigner(b"a-test-secret-of-enough-length"),
        "personal_data": personal_data_in_memory(),
        "pseudonym_secret": b"a-pseudonym-secret-for-tests",
        **kwargs,
    }
    return RegistrationApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"}, **options)
