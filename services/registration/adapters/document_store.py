"""Applicants' documents, kept on disk outside the event log (the log keeps checksums).

A submission is staged: each file is streamed to a temporary name while its SHA-256 and
size are computed and checked against the limits; only once the event that refers to
the files is saved are they renamed into place. A submission refused for any reason (a
wrong type, too many bytes, a missing part, a conflicting save) removes every file it
staged, so that no file on disk lacks an event referring to it.

A crash between the save and the rename leaves the document missing rather than a file
that nothing refers to; sending the same submission again puts it in place (the same
content gets the same document id).

Every file is encrypted at rest with its applicant's key from the key store (AES-256-GCM,
`nonce || ciphertext+tag`, associated data naming the applicant and the document), under
the document's id, never the uploaded file's name (which is recorded sealed in the
event). Erasing the applicant destroys the key, which makes every copy of the files
unreadable (backups included), and deletes the files (`delete_all`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.rules import RuleViolation
from runtime.privacy import PersonalData

#: Accepted types, recognised by their first bytes rather than by what the client says.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


@dataclass(frozen=True)
class StoredDocument:
    document_id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str

    def as_event_data(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "kind": self.kind,
            "filename": self.filename,
            "content_type": self.content_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }


def _content_type_of(head: bytes) -> str | None:
    for content_type, signatures in _SIGNATURES.items():
        if any(head.startswith(s) for s in signatures):
            return content_type
    return None


def _aad(applicant_id: uuid.UUID, document_id: uuid.UUID) -> bytes:
    return f"jip-document-v1:{applicant_id}:{document_id}".encode()


class DocumentStore:
    def __init__(self, root: Path, max_bytes: int, personal_data: PersonalData) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.personal = personal_data

    def path_of(self, applicant_id: uuid.UUID, document_id: uuid.UUID) -> Path:
        return self.root / str(applicant_id) / str(document_id)

    def encrypt(self, applicant_id: uuid.UUID, document_id: uuid.UUID, content: bytes) -> bytes:
        key = self.personal.keystore.key_for_sealing(applicant_id)
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, content, _aad(applicant_id, document_id))

    def read(self, applicant_id: uuid.UUID, document_id: uuid.UUID) -> bytes | None:
        """The document's content, or None when it is gone or its applicant erased."""
        key = self.personal.keystore.key_of(applicant_id)
        path = self.path_of(applicant_id, document_id)
        if key is None or not path.exists():
            return None
        data = path.read_bytes()
        return AESGCM(key).decrypt(data[:12], data[12:], _aad(applicant_id, document_id))

    def delete_all(self, applicant_id: uuid.UUID) -> None:
        """Delete every file of the applicant (their erasure)."""
        shutil.rmtree(self.root / str(applicant_id), ignore_errors=True)

    @contextmanager
    def submission(self, applicant_id: uuid.UUID) -> Iterator[Submission]:
        """Stage the files of one submission; whatever was not `keep`-t when the block
        ends (an error, a refusal) is removed."""
        submission = Submission(self, applicant_id)
        try:
            yield submission
        finally:
            submission.discard()


class Submission:
    """The files of one submission, under temporary names until `keep`."""

    def __init__(self, store: DocumentStore, applicant_id: uuid.UUID) -> None:
        self.store = store
        self.applicant_id = applicant_id
        self._staged: list[tuple[StoredDocument, Path]] = []

    @property
    def documents(self) -> list[StoredDocument]:
        return [document for document, _ in self._staged]

    def add(self, kind: str, filename: str, source: BinaryIO) -> StoredDocument:
        """Write one file under a temporary name, checking its size and type."""
        folder = self.store.root / str(self.applicant_id)
        folder.mkdir(parents=True, exist_ok=True)
        max_bytes = self.store.max_bytes
        # Read whole (at most `max_bytes`, checked as it comes): AES-GCM seals a
        # document in one piece, and its id depends on its checksum.
        chunks: list[bytes] = []
        size = 0
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise RuleViolation(kind, f"a document may be at most {max_bytes} bytes")
            chunks.append(chunk)
        content = b"".join(chunks)
        if size == 0:
            raise RuleViolation(kind, "the file is empty")
        content_type = _content_type_of(content[:16])
        if content_type is None:
            raise RuleViolation(kind, "only PDF, PNG and JPEG files are accepted")
        sha256 = hashlib.sha256(content).hexdigest()
        # Same applicant, same content: same document id, so a retried upload
        # overwrites its own file instead of leaving a copy.
        document_id = uuid.uuid5(self.applicant_id, f"{kind}:{sha256}")
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        temporary = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(self.store.encrypt(self.applicant_id, document_id, content))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        safe_name = Path(filename or "document").name[:255] or "document"
        document = StoredDocument(document_id, kind, safe_name, content_type, size, sha256)
        self._staged.append((document, temporary))
        return document

    def keep(self) -> None:
        """The event referring to these documents is saved: put the files in place.
        Documents recorded before are put in place too (same content, same name), which
        restores one lost in a crash between an earlier save and its rename."""
        for document, temporary in self._staged:
            os.replace(temporary, self.store.path_of(self.applicant_id, document.document_id))
        self._staged = []

    def discard(self) -> None:
        for _, temporary in self._staged:
            temporary.unlink(missing_ok=True)
        self._staged = []
