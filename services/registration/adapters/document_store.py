"""Applicants' documents, kept on disk outside the event log (the log keeps checksums).

A submission is staged: each file is streamed to a temporary name while its SHA-256 and
size are computed and checked against the limits; only once the event that refers to
the files is saved are they renamed into place. A submission refused for any reason (a
wrong type, too many bytes, a missing part, a conflicting save) removes every file it
staged, so that no file on disk lacks an event referring to it.

A crash between the save and the rename leaves the document missing rather than a file
that nothing refers to; sending the same submission again puts it in place (the same
content gets the same document id).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kernel.rules import RuleViolation

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


class DocumentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, applicant_id: uuid.UUID, document_id: uuid.UUID) -> Path:
        return self.root / str(applicant_id) / str(document_id)

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
        digest = hashlib.sha256()
        size = 0
        head = b""
        max_bytes = self.store.max_bytes
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        temporary = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    if len(head) < 16:
                        head += chunk[: 16 - len(head)]
                    size += len(chunk)
                    if size > max_bytes:
                        raise RuleViolation(kind, f"a document may be at most {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise RuleViolation(kind, "the file is empty")
            content_type = _content_type_of(head)
            if content_type is None:
                raise RuleViolation(kind, "only PDF, PNG and JPEG files are accepted")
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        sha256 = digest.hexdigest()
        # Same applicant, same content: same document id, so a retried upload
        # overwrites its own file instead of leaving a copy.
        document_id = uuid.uuid5(self.applicant_id, f"{kind}:{sha256}")
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
