"""Personal data, sealed with its subject's key (the format is in `events/privacy.py`).

`PersonalData` is what an application is given to seal a value at the command that
receives it, to open one at the moment it is needed (an address to send a mail to), to
reveal a whole record for a disclosure export, and to erase a subject. Nothing else in a
service touches keys.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.privacy import ERASED, SEALED_PREFIX, aad_of, is_sealed, sealed_parts
from runtime.keystore import KeyStore, SubjectErased

__all__ = ["ERASED", "PersonalData", "SealBroken", "SubjectErased"]


class SealBroken(Exception):
    """A sealed value does not open with its subject's key: it was altered."""


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot seal a {type(value).__name__}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PersonalData:
    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore

    # -- sealing -----------------------------------------------------------------------
    def seal(self, subject_id: uuid.UUID, value: Any) -> str:
        """`value` (JSON-like; dates as ISO text) sealed with the subject's key, made on
        first use. Raises `SubjectErased` for an erased subject."""
        return self.seal_with(self.keystore.key_for_sealing(subject_id), subject_id, value)

    def seal_fields(
        self, subject_id: uuid.UUID, values: Mapping[str, Any], fields: frozenset[str] | set[str]
    ) -> dict[str, Any]:
        """A copy of `values` with the named `fields` (those present) sealed; one key
        lookup for all."""
        key = self.keystore.key_for_sealing(subject_id)
        return {
            name: self.seal_with(key, subject_id, value) if name in fields else value
            for name, value in values.items()
        }

    @staticmethod
    def seal_with(key: bytes, subject_id: uuid.UUID, value: Any) -> str:
        plaintext = json.dumps(
            value, default=_json_default, ensure_ascii=False, separators=(",", ":")
        ).encode()
        nonce = os.urandom(12)
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad_of(subject_id))
        return f"{SEALED_PREFIX}{subject_id}:{_b64(nonce + ciphertext)}"

    # -- opening -----------------------------------------------------------------------
    def unseal(self, sealed: str) -> Any:
        """The value, or `ERASED` when its subject's key was destroyed."""
        subject_id, _ = sealed_parts(sealed)
        return self._open(self.keystore.key_of(subject_id), sealed)

    def reveal(self, record: Any) -> Any:
        """A copy of a JSON-like record with every sealed string in it opened (or
        `ERASED`), looking each subject's key up once."""
        keys: dict[uuid.UUID, bytes | None] = {}

        def walk(value: Any) -> Any:
            if is_sealed(value):
                subject_id, _ = sealed_parts(value)
                if subject_id not in keys:
                    keys[subject_id] = self.keystore.key_of(subject_id)
                return self._open(keys[subject_id], value)
            if isinstance(value, Mapping):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [walk(v) for v in value]
            return value

        return walk(record)

    @staticmethod
    def _open(key: bytes | None, sealed: str) -> Any:
        if key is None:
            return ERASED
        subject_id, body = sealed_parts(sealed)
        data = _unb64(body)
        try:
            plaintext = AESGCM(key).decrypt(data[:12], data[12:], aad_of(subject_id))
        except InvalidTag:
            raise SealBroken(f"a sealed value of subject {subject_id} was altered") from None
        return json.loads(plaintext)

    # -- erasing -----------------------------------------------------------------------
    def erase(self, subject_id: uuid.UUID) -> bool:
        """Destroys the subject's key: everything ever sealed for them reads `ERASED`."""
        return self.keystore.erase(subject_id)

    def is_erased(self, subject_id: uuid.UUID) -> bool:
        return self.keystore.is_erased(subject_id)

    def close(self) -> None:
        self.keystore.close()
